// Hive Gateway over a supergraph file, in one Node process (no worker forks, so that the
// harness's /proc figures cover all of it). Usage:
//   node hive.mjs SUPERGRAPH.graphql PORT [--dedup]
// `--dedup` turns on its inbound in-flight request deduplication (off by default).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createGatewayRuntime } from '@graphql-hive/gateway';

const [supergraphPath, port, ...flags] = process.argv.slice(2);
const gateway = createGatewayRuntime({
  supergraph: readFileSync(supergraphPath, 'utf8'),
  logging: 'error',
  graphqlEndpoint: '/graphql',
  landingPage: false,
  inboundInflightRequestDeduplication: flags.includes('--dedup'),
});
createServer(gateway).listen(Number(port), '127.0.0.1', () => {
  console.error(`hive gateway on http://127.0.0.1:${port}/graphql`);
});
