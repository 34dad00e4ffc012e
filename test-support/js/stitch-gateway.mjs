// The reference stitching gateway: @graphql-tools/stitch over @graphql-tools/executor-http,
// served by graphql-yoga on 127.0.0.1:0.
// Usage: node stitch-gateway.mjs <accounts-url> <products-url> <reviews-url>
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';

const names = ['accounts', 'products', 'reviews'];
const urls = process.argv.slice(2);
const subschemas = names.map((name, i) => ({
  name,
  schema: buildSchema(readFileSync(new URL(`./stitch/${name}.graphql`, import.meta.url), 'utf8')),
  executor: buildHTTPExecutor({ endpoint: urls[i] }),
}));

const yoga = createYoga({
  schema: stitchSchemas({ subschemas }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
