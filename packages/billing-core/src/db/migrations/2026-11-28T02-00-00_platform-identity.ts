import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// People of the platform around this service arrive with the platform's own tokens: the token's
// `sub` (under the platform's issuer) is kept on the user, one user per subject.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('platform_subject', 'text', (c) => c.unique())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('platform_subject').execute();
}
