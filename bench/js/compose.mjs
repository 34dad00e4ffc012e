// Composes a Federation supergraph from running subgraphs: fetches each `{ _service { sdl } }`
// and composes with The Guild's federation composition. Usage:
//   node compose.mjs OUT.graphql accounts=URL inventory=URL products=URL reviews=URL
import { writeFileSync } from 'node:fs';
import { parse, specifiedDirectives } from 'graphql';
import { composeServices } from '@theguild/federation-composition';

const [out, ...subgraphs] = process.argv.slice(2);
if (!out || subgraphs.length === 0) {
  console.error('usage: node compose.mjs OUT.graphql NAME=URL...');
  process.exit(2);
}
const services = [];
for (const arg of subgraphs) {
  const at = arg.indexOf('=');
  const [name, url] = [arg.slice(0, at), arg.slice(at + 1)];
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = await response.json();
  const sdl = body?.data?._service?.sdl;
  if (typeof sdl !== 'string') {
    console.error(`${name} (${url}) gave no SDL: ${JSON.stringify(body)}`);
    process.exit(1);
  }
  // async-graphql's SDL defines @include and @skip again; a supergraph that carries them makes
  // graphql-tools stitching build a second `Boolean`. They are built in: drop them.
  const builtIn = new Set(specifiedDirectives.map((d) => d.name));
  const document = parse(sdl);
  const typeDefs = {
    ...document,
    definitions: document.definitions.filter(
      (d) => !(d.kind === 'DirectiveDefinition' && builtIn.has(d.name.value)),
    ),
  };
  services.push({ name, url, typeDefs });
}
const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl);
console.error(`supergraph of ${services.length} subgraphs written to ${out}`);
