// hyparquet-read FILE...: reads every row of each Parquet file with hyparquet (an independent
// reader, not DuckDB) and prints "FILE ROWS COLUMNS" per file; exits 1 when one cannot be read.
import { readFileSync } from 'node:fs';

const deps = new URL('../../.deps/hyparquet/node_modules/', import.meta.url);
const { parquetReadObjects, parquetMetadata } = await import(new URL('hyparquet/src/index.js', deps));
const { compressors } = await import(new URL('hyparquet-compressors/src/index.js', deps));
let failed = 0;
for (const path of process.argv.slice(2)) {
  try {
    const buf = readFileSync(path);
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const meta = parquetMetadata(file);
    const rows = await parquetReadObjects({ file, compressors });
    if (rows.length !== Number(meta.num_rows)) throw new Error(`read ${rows.length} rows of ${meta.num_rows}`);
    console.log(`${path} ${rows.length} ${meta.schema.length - 1}`);
  } catch (e) {
    console.log(`${path} FAILED ${e.message}`);
    failed = 1;
  }
}
process.exit(failed);
