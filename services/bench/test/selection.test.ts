import { describe, expect, test } from 'vitest';
import { BenchArgsError } from '../src/args';
import { selectBenches } from '../src/selection';

const known = ['writes', 'replicator', 'gateway', 'baseline', 'live'];

describe('selectBenches', () => {
  test.each([
    [[], { benches: known, options: [], full: true, write: true }],
    [['--no-write'], { benches: known, options: [], full: true, write: false }],
    [['--rounds', '5'], { benches: known, options: ['--rounds', '5'], full: true, write: true }],
    [['--rounds=2', '--no-write'], { benches: known, options: ['--rounds=2'], full: true, write: false }],
    [['writes'], { benches: ['writes'], options: [], full: false, write: false }],
    [['gateway', '--rows', '1000', '--seconds', '2'], { benches: ['gateway'], options: ['--rows', '1000', '--seconds', '2'], full: false, write: false }],
    [['writes', 'baseline', '--rounds', '1'], { benches: ['writes', 'baseline'], options: ['--rounds', '1'], full: false, write: false }],
    [['writes', 'writes'], { benches: ['writes'], options: [], full: false, write: false }],
    [['live', '--json', '--quick'], { benches: ['live'], options: ['--json', '--quick'], full: false, write: false }],
    [['baseline', 'gateway', 'replicator', 'writes'], { benches: ['baseline', 'gateway', 'replicator', 'writes'], options: [], full: false, write: false }],
    [['baseline', 'gateway', 'replicator', 'writes', 'live'], { benches: ['baseline', 'gateway', 'replicator', 'writes', 'live'], options: [], full: true, write: true }],
  ])('%o', (argv, expected) => {
    expect(selectBenches(argv, known)).toEqual(expected);
  });

  // A benchmark run only by name: never in the default run, and naming it alone is not a full run.
  test.each([
    [[], { benches: known, options: [], full: true, write: true }],
    [['windows', '--json'], { benches: ['windows'], options: ['--json'], full: false, write: false }],
    [['live', 'windows', '--rounds', '2'], { benches: ['live', 'windows'], options: ['--rounds', '2'], full: false, write: false }],
  ])('%o, with windows by name only', (argv, expected) => {
    expect(selectBenches(argv, known, ['windows'])).toEqual(expected);
  });

  test('an unknown name lists the by-name benchmarks too', () => {
    expect(() => selectBenches(['window'], known, ['windows'])).toThrow(new BenchArgsError('unknown benchmark "window"; choose from: writes, replicator, gateway, baseline, live, windows'));
  });

  test.each([
    [['gatway'], 'unknown benchmark "gatway"; choose from: writes, replicator, gateway, baseline, live'],
    [['writes', 'nope'], 'unknown benchmark "nope"; choose from: writes, replicator, gateway, baseline, live'],
    [['--rows', '10'], 'option "--rows" belongs to one benchmark: name it, e.g. npm run bench -- gateway --rows'],
    [['writes', 'gateway', '--seconds=3'], 'option "--seconds" belongs to one benchmark: name it, e.g. npm run bench -- gateway --seconds=3'],
    [['--rounds', '2', 'writes'], 'unexpected argument "writes": name benchmarks first, options after them'],
    [['--json'], 'option "--json" belongs to one benchmark: name it, e.g. npm run bench -- gateway --json'],
  ])('%o is refused', (argv, message) => {
    expect(() => selectBenches(argv, known)).toThrow(new BenchArgsError(message));
  });
});
