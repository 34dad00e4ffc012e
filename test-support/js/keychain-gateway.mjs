// The reference gateway for the key-chain differential tests: @graphql-tools/stitch over the
// three keychain services (a, b, c), batching on, served by graphql-yoga on 127.0.0.1:0.
// Mode `code`: merge config written in code, `b` with two entry points (`entryPoints`: by `id`
// and by `upc`), so both directions of the chain a <-> b <-> c work. Mode `sdl`: each
// service's stitching directives from its `{ _sdl }` (one entry point each; `a` and `c` use
// `argsExpr` with `$key.<field>`).
// Usage: node keychain-gateway.mjs <code|sdl> <a-url> <b-url> <c-url>
import { createServer } from 'node:http';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';

const { stitchingDirectivesTransformer } = stitchingDirectives();
const [mode, ...urls] = process.argv.slice(2);
const names = ['a', 'b', 'c'];
const byKey = (fieldName, key, arg) => ({
  selectionSet: `{ ${key} }`,
  fieldName,
  key: (o) => o[key],
  argsFromKeys: (keys) => ({ [arg]: keys }),
});
const merge = {
  a: { Product: byKey('aProductsById', 'id', 'ids') },
  b: {
    Product: {
      entryPoints: [byKey('bProductsById', 'id', 'ids'), byKey('bProductsByUpc', 'upc', 'upcs')],
    },
  },
  c: { Product: byKey('cProductsByUpc', 'upc', 'upcs') },
};
const subschemas = [];
for (const [i, url] of urls.entries()) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _sdl }' }),
  });
  const { data } = await response.json();
  const executor = buildHTTPExecutor({ endpoint: url });
  if (mode === 'code') {
    // The SDL without directives; the merge config in code.
    const sdl = data._sdl.replace(/@\w+(\([^)]*\))?/g, '').replace(/directive[^\n]*\n/g, '');
    subschemas.push({ schema: buildSchema(sdl), executor, batch: true, merge: merge[names[i]] });
  } else {
    subschemas.push(
      stitchingDirectivesTransformer({ schema: buildSchema(data._sdl), executor, batch: true }),
    );
  }
}
const yoga = createYoga({
  schema: stitchSchemas({ subschemas }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
