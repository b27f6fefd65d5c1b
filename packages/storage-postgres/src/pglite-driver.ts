import type { Driver, Row } from './driver.js';
import type { PGliteLike } from './options.js';
import type { Statements } from './statements.js';

/**
 * The driver over a PGlite instance: one in-process connection, so the adapter's own writes and every other
 * adapter's over the same instance arrive on the same LISTEN. Nothing here imports PGlite: you pass the instance.
 */
export function createPgliteDriver(db: PGliteLike, statements: Statements): Driver {
  return {
    name: 'pglite',
    target: { label: 'PGlite' },
    reconnectable: true,
    async query(statement, values) {
      return (await db.query(statement.text, [...values])).rows as Row[];
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async listen(onPayload) {
      // PGlite takes the channel as SQL: quoted, it keeps its case.
      return db.listen(`"${statements.channel}"`, onPayload);
    },
    async close() {},
  };
}
