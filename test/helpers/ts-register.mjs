// Import this first (`await import('.../ts-register.mjs')` or `node --import`) in a child
// process or worker thread to be able to import the project's .ts sources afterwards.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
