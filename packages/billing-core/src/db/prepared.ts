import { createHash } from 'node:crypto';
import { sql } from 'kysely';

export const PREPARED_MARK = '/*prepared*/';

/**
 * Marks a hot read as a server-side prepared statement: `.modifyFront(PREPARED)` on a select, or
 * `${PREPARED}` in a `sql` template. On PostgreSQL such a statement is parsed and planned once per
 * connection instead of at every call (the page load's reads are `union all`s over both rails, whose
 * planning cost more than running them). Opt-in, for statements whose text is fixed: each distinct
 * text is one prepared statement per connection, and at most MAX_PREPARED texts are ever named (the
 * rest run unnamed). Never on `select *`: a column a migration adds would change the result of a
 * statement still prepared on another process's open connection. On PGlite the mark is only a comment.
 */
export const PREPARED = sql.raw(PREPARED_MARK);
const MAX_PREPARED = 64;
const preparedNames = new Map<string, string>();

export function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `p_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return name;
}
