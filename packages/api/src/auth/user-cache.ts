import type { Db } from '@miniapp-billing/billing-core';
import { findUserById, type User } from '@miniapp-billing/billing-core';

/**
 * Who a token's `sub` is, cached briefly. The JWT is verified on every request; only the lookup of
 * the user row is cached (a primary-key read on every request, the same row again and again).
 * Users are never deleted; a renamed user shows the new name within `ttlMs`. Requests that miss
 * the same id at once share one lookup.
 */
export class UserCache {
  private readonly entries = new Map<string, { user: User; expires: number }>();
  private readonly loading = new Map<string, Promise<User | undefined>>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  async get(id: string): Promise<User | undefined> {
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.expires > now) return hit.user;
    let load = this.loading.get(id);
    if (!load) {
      load = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, load);
    }
    return load;
  }

  private async load(id: string): Promise<User | undefined> {
    const now = Date.now();
    const user = await findUserById(this.db, id);
    if (!user) {
      this.entries.delete(id);
      return undefined;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(id);
    this.entries.set(id, { user, expires: now + this.ttlMs });
    return user;
  }
}
