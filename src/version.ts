/** kmipd's own version, reported by Query → Server Information and `--version`. */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
