#!/usr/bin/env node
// Entry point of the `edgelat` command: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
