// The reference type-merging gateway: @graphql-tools/stitch with
// @graphql-tools/stitching-directives over the four merge subgraphs, each subschema's SDL read
// from its `{ _sdl }`, batching on; served by graphql-yoga on 127.0.0.1:0.
// Usage: node merge-gateway.mjs <accounts-url> <products-url> <inventory-url> <reviews-url>
import { createServer } from 'node:http';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';

const { stitchingDirectivesTransformer } = stitchingDirectives();
const urls = process.argv.slice(2);
const subschemas = [];
for (const url of urls) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _sdl }' }),
  });
  const { data } = await response.json();
  subschemas.push(
    stitchingDirectivesTransformer({
      schema: buildSchema(data._sdl),
      executor: buildHTTPExecutor({ endpoint: url }),
      batch: true,
    }),
  );
}
const yoga = createYoga({
  schema: stitchSchemas({ subschemaConfigTransforms: [], subschemas }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
