// A graphql-tools stitching gateway: `stitchSchemas` (@graphql-tools/stitch) over the
// subschemas and type-merging config that @graphql-tools/federation derives from the
// supergraph (entities through `_entities`), served by graphql-yoga. Usage:
//   node stitch.mjs SUPERGRAPH.graphql PORT
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { getStitchingOptionsFromSupergraphSdl } from '@graphql-tools/federation';
import { stitchSchemas } from '@graphql-tools/stitch';
import { createYoga } from 'graphql-yoga';

const [supergraphPath, port] = process.argv.slice(2);
const options = getStitchingOptionsFromSupergraphSdl({
  supergraphSdl: readFileSync(supergraphPath, 'utf8'),
  batch: true,
});
const schema = stitchSchemas(options);
const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', logging: 'error', landingPage: false });
createServer(yoga).listen(Number(port), '127.0.0.1', () => {
  console.error(`graphql-tools stitching gateway on http://127.0.0.1:${port}/graphql`);
});
