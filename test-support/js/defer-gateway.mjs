// The reference gateway of the @defer/@stream differential tests: @graphql-tools/stitch over
// @graphql-tools/executor-http to the three defer services, merging configured by the
// stitching directives of their SDL (test-support/js/defer/*.graphql, the files Quilt reads),
// served by graphql-yoga with `useDeferStream()` on 127.0.0.1:0 (multipart/mixed and SSE).
// Usage: node defer-gateway.mjs <products-url> <reviews-url> <users-url>
// Prints `LISTENING <port>` when ready.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { stitchSchemas } from '@graphql-tools/stitch';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';

const { stitchingDirectivesTypeDefs, stitchingDirectivesTransformer } = stitchingDirectives();
const names = ['products', 'reviews', 'users'];
const urls = process.argv.slice(2);
if (urls.length !== names.length) {
  console.error('usage: node defer-gateway.mjs <products-url> <reviews-url> <users-url>');
  process.exit(2);
}
const subschemas = names.map((name, i) => {
  const sdl = readFileSync(new URL(`./defer/${name}.graphql`, import.meta.url), 'utf8');
  return stitchingDirectivesTransformer({
    name,
    schema: buildSchema(`${stitchingDirectivesTypeDefs}\n${sdl}`),
    executor: buildHTTPExecutor({ endpoint: urls[i] }),
  });
});

const yoga = createYoga({
  schema: stitchSchemas({ subschemas }),
  plugins: [useDeferStream()],
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
