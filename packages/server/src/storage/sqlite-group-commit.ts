/**
 * @module Group commit for SQLite: a Kysely driver over better-sqlite3 in which the writes of one
 * turn of the event loop share one transaction and one fsync of the WAL, and no result of a query
 * leaves the driver before what it shows is on disk ("acknowledged" means durable, DESIGN §6).
 *
 * Every request's transaction runs as a savepoint inside the turn's batch transaction, so one that
 * fails rolls back exactly its own writes; a write outside a transaction joins the batch too. The
 * batch commits once the event loop reaches its check phase (setImmediate), after every socket it
 * read in this turn was handled. The database runs with synchronous=NORMAL, so COMMIT only writes
 * the WAL; the driver then fsyncs the WAL itself, on libuv's thread pool rather than the event
 * loop, and answers the batch's queries when that fsync is done: the durability of
 * synchronous=FULL, while the next batch is already being served. Until then what the batch
 * holds stays inside: a read that might see it (while a batch is open or an fsync is pending)
 * answers only after the fsync, so no reply can show a write that a crash could take back. If
 * the commit or its fsync fails, every query of the batch fails.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult } from 'kysely';
import { fsyncFile, WalSync } from './sqlite-wal-sync.js';

type Sqlite = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** Distinct SQL texts kept prepared; past this the cache starts over (an `IN` list of every length is its own text). */
const STATEMENTS_KEPT = 1000;
/** Each request's transaction is this savepoint of the batch; requests hold the connection one at a time. */
const REQUEST_SAVEPOINT = 'parley_request';
/** PRAGMA synchronous reads back as a number: 1 is NORMAL. */
const SYNCHRONOUS_NORMAL = 1;

/** The open batch transaction: settles when it is committed and on disk, or failed. */
class Batch {
  readonly committed: Promise<void>;
  settle!: (error?: unknown) => void;

  constructor() {
    this.committed = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // A batch nobody waits on (only reads joined it) must not surface as an unhandled rejection.
    this.committed.catch(() => undefined);
  }
}

/** One holder of the connection at a time, first come first served. */
class Mutex {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  async lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  unlock(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

/** One acquisition of the single SQLite connection, by one query or one transaction. */
class Lease implements DatabaseConnection {
  inTransaction = false;
  released = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, compiled);
  }

  // eslint-disable-next-line require-yield -- nothing here streams; the interface requires the method
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite group-commit driver does not stream query results');
  }

  /** Lets the next holder in before this one's batch has committed. */
  release(mutex: Mutex): void {
    if (this.released) return;
    this.released = true;
    mutex.unlock();
  }
}

export class GroupCommitDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly statements = new Map<string, Statement>();
  private batch: Batch | undefined;
  private readonly walSync: WalSync;

  /**
   * `sqlite` must be in WAL mode with synchronous=NORMAL: this driver makes each commit durable
   * itself, with `syncFile` (fsync; tests slow it down).
   */
  constructor(
    private readonly sqlite: Sqlite,
    syncFile: (descriptor: number) => Promise<void> = fsyncFile,
  ) {
    const journal = String(sqlite.pragma('journal_mode', { simple: true }));
    const synchronous = Number(sqlite.pragma('synchronous', { simple: true }));
    if (!sqlite.memory && (journal !== 'wal' || synchronous !== SYNCHRONOUS_NORMAL)) {
      throw new Error(`group commit needs journal_mode=wal and synchronous=NORMAL, not ${journal} and ${synchronous}`);
    }
    this.walSync = new WalSync(sqlite.memory ? undefined : `${sqlite.name}-wal`, syncFile);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return new Lease(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    this.openBatch();
    this.run(`SAVEPOINT ${REQUEST_SAVEPOINT}`);
    (connection as Lease).inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    const batch = this.requireBatch();
    this.run(`RELEASE ${REQUEST_SAVEPOINT}`);
    lease.inTransaction = false;
    lease.release(this.mutex);
    await batch.committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    // After a failed batch commit Kysely rolls back too, but this savepoint was released already
    // (and another request may hold one of the same name now): the failed batch rolled back itself.
    if (!lease.inTransaction) return;
    lease.inTransaction = false;
    if (this.sqlite.inTransaction) {
      this.run(`ROLLBACK TO ${REQUEST_SAVEPOINT}`);
      this.run(`RELEASE ${REQUEST_SAVEPOINT}`);
      return;
    }
    // Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction: the
    // batch is gone, with the writes of every request that had finished in it.
    this.failBatch(new Error('SQLite rolled back the transaction of this batch'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as Lease).release(this.mutex);
  }

  async destroy(): Promise<void> {
    await this.mutex.lock();
    try {
      await this.commitBatch().catch(() => undefined);
      await this.walSync.close();
    } finally {
      this.sqlite.close();
    }
  }

  /**
   * Runs one query for `lease`. Outside a transaction, a write joins the batch and answers once
   * the batch is on disk; a read answers once all it can see is.
   */
  async execute<R>(lease: Lease, compiled: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.prepare(compiled.sql);
    if (lease.inTransaction && !this.sqlite.inTransaction) throw new Error('SQLite rolled back the transaction of this batch');
    if (lease.inTransaction) return this.runStatement<R>(statement, compiled.parameters);
    if (statement.readonly && !this.batch) {
      const result = this.runStatement<R>(statement, compiled.parameters);
      const syncing = this.walSync.pending();
      if (syncing) {
        lease.release(this.mutex);
        await syncing;
      }
      return result;
    }
    const batch = this.openBatch();
    let result: QueryResult<R>;
    try {
      result = this.runStatement<R>(statement, compiled.parameters);
    } catch (error) {
      // A failed statement undoes only its own changes, unless SQLite gave up the whole transaction.
      if (!this.sqlite.inTransaction) this.failBatch(error);
      throw error;
    }
    lease.release(this.mutex);
    await batch.committed;
    return result;
  }

  private runStatement<R>(statement: Statement, parameters: readonly unknown[]): QueryResult<R> {
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.sqlite.prepare(sql);
      if (this.statements.size >= STATEMENTS_KEPT) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private run(sql: string): void {
    this.prepare(sql).run();
  }

  private requireBatch(): Batch {
    if (!this.batch) throw new Error('no batch transaction is open');
    return this.batch;
  }

  /** The batch this turn's writes go into, opened (and its commit scheduled) by the first. */
  private openBatch(): Batch {
    if (this.batch) return this.batch;
    this.run('BEGIN IMMEDIATE');
    const batch = new Batch();
    this.batch = batch;
    setImmediate(() => void this.flush(batch));
    return batch;
  }

  /** Commits `batch` once no request holds the connection (one may be between two of its queries). */
  private async flush(batch: Batch): Promise<void> {
    await this.mutex.lock();
    try {
      if (this.batch === batch) void this.commitBatch();
    } finally {
      this.mutex.unlock();
    }
  }

  /** Commits the open batch, and answers its queries once the WAL is on disk (the returned promise). */
  private commitBatch(): Promise<void> {
    const batch = this.batch;
    if (!batch) return Promise.resolve();
    try {
      this.run('COMMIT');
    } catch (error) {
      this.failBatch(error);
      return batch.committed;
    }
    this.batch = undefined;
    this.walSync.afterCommit().then(
      () => batch.settle(),
      (error: unknown) => batch.settle(error),
    );
    return batch.committed;
  }

  private failBatch(error: unknown): void {
    const batch = this.batch;
    this.batch = undefined;
    try {
      if (this.sqlite.inTransaction) this.run('ROLLBACK');
    } finally {
      batch?.settle(error ?? new Error('the batch transaction failed'));
    }
  }
}

/** Kysely's SQLite dialect with the group-commit driver. */
export class GroupCommitSqliteDialect implements Dialect {
  constructor(
    private readonly sqlite: Sqlite,
    private readonly syncFile?: (descriptor: number) => Promise<void>,
  ) {}

  createDriver(): Driver {
    return new GroupCommitDriver(this.sqlite, this.syncFile);
  }

  createQueryCompiler(): SqliteQueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): SqliteAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): SqliteIntrospector {
    return new SqliteIntrospector(db);
  }
}
