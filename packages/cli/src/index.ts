/** @module @parley/cli: the `parley` command. */
export { main, type MainIo } from './main.js';
