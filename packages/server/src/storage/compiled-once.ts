/**
 * @module Hot queries compiled once: Kysely builds and compiles a query's SQL on every call, which on
 * the message path took longer than SQLite took to run it. A `CompiledOnce` is built once per
 * dialect with placeholders for its values, then run with the values put in their places.
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Stands where the `index`th value goes while the query compiles. */
class Placeholder {
  constructor(readonly index: number) {}
}

type Db = Kysely<Database>;

export class CompiledOnce<Values extends unknown[], Row> {
  /** By the dialect's adapter, which a database and all its transactions share. */
  private readonly compiled = new WeakMap<object, CompiledQuery<Row>>();

  /**
   * `build` gets placeholders for its values, to put where they go; values must not change the
   * shape of the SQL (no `in` lists, no null checks decided by a value).
   */
  constructor(private readonly build: (db: Db, ...values: Values) => Compilable<Row>) {}

  execute(db: Db, ...values: Values): Promise<QueryResult<Row>> {
    const adapter = db.getExecutor().adapter;
    let template = this.compiled.get(adapter);
    if (template === undefined) {
      // The builder's declared parameters, less `db`, are its values.
      const placeholders = Array.from({ length: this.build.length - 1 }, (_, i) => new Placeholder(i)) as unknown as Values;
      template = this.build(db, ...placeholders).compile();
      const used = new Set(template.parameters.flatMap((parameter) => (parameter instanceof Placeholder ? [parameter.index] : [])));
      if (used.size !== placeholders.length) throw new Error(`a compiled-once query uses ${used.size} of its ${placeholders.length} values: ${template.sql}`);
      this.compiled.set(adapter, template);
    }
    const parameters = template.parameters.map((parameter) => (parameter instanceof Placeholder ? values[parameter.index] : parameter));
    return db.executeQuery<Row>({ ...template, parameters });
  }

  async rows(db: Db, ...values: Values): Promise<Row[]> {
    return (await this.execute(db, ...values)).rows;
  }

  /** How many rows an INSERT, UPDATE or DELETE changed. */
  async changed(db: Db, ...values: Values): Promise<number> {
    return Number((await this.execute(db, ...values)).numAffectedRows ?? 0n);
  }
}
