#!/usr/bin/env node
// The `tributary` command: registers tsx (TypeScript on Node 20), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
