export { contractIssues, readManifest } from './folder.js';
export { assertManifest, configSchemaFromJson, manifestJsonSchema, parseManifest } from './parse.js';
export { type ConfigJsonSchema, configJsonSchema, type Manifest, type ManifestInput, manifestSchema } from './schema.js';
