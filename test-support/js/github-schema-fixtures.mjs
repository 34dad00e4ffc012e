// Fixtures for quilt-wrap's GitHub schema tests, made with graphql-js (the reference):
//   node github-schema-fixtures.mjs <out-dir>
// writes
//   sdl-introspection.json: the introspection result of @octokit/graphql-schema's schema.graphql
//     (every option on: descriptions, specifiedByURL, isRepeatable, input value deprecation,
//     isOneOf, schema description);
//   json-printed.graphql: @octokit/graphql-schema's schema.json through buildClientSchema and
//     printSchema.
// The package's schema.json and schema.graphql are two different snapshots of GitHub's API, so
// each is compared with the reference's rendering of itself.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, buildClientSchema, introspectionFromSchema, printSchema } from 'graphql';

const out = process.argv[2];
if (!out) {
  console.error('usage: node github-schema-fixtures.mjs <out-dir>');
  process.exit(2);
}
const pkg = join('node_modules', '@octokit', 'graphql-schema');

// The published SDL defines two fields twice; graphql-js' SDL validation would reject it.
const sdl = readFileSync(join(pkg, 'schema.graphql'), 'utf8');
const fromSdl = buildSchema(sdl, { assumeValidSDL: true });
const introspection = introspectionFromSchema(fromSdl, {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});
writeFileSync(join(out, 'sdl-introspection.json'), JSON.stringify({ data: introspection }));

const json = JSON.parse(readFileSync(join(pkg, 'schema.json'), 'utf8'));
const fromJson = buildClientSchema(json.data ?? json);
writeFileSync(join(out, 'json-printed.graphql'), printSchema(fromJson));
console.log('OK');
