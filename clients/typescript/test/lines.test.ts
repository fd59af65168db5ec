import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EgressdProtocolError } from '../src/index.js';
import { LineSplitter } from '../src/lines.js';

describe('LineSplitter', () => {
  it('returns each completed line, however the bytes are cut', () => {
    const bytes = Buffer.from('{"a":1}\n{"b":"ü€"}\n\n{"c"');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const splitter = new LineSplitter(64);
      const lines = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))];
      assert.deepEqual(lines, ['{"a":1}', '{"b":"ü€"}', ''], `cut at ${cut}`);
      assert.ok(splitter.hasPartialLine());
    }
  });

  it('accepts a line of exactly the limit and refuses one byte more as soon as it arrives', () => {
    assert.deepEqual(new LineSplitter(4).push(Buffer.from('abcd\n')), ['abcd']);
    const splitter = new LineSplitter(4);
    assert.deepEqual(splitter.push(Buffer.from('ab')), []);
    assert.throws(() => splitter.push(Buffer.from('cde')), EgressdProtocolError); // no newline needed
  });

  it('refuses bytes that are not UTF-8', () => {
    assert.throws(() => new LineSplitter(64).push(Buffer.from([0x22, 0xc3, 0x28, 0x22, 0x0a])), /not valid UTF-8/);
  });
});
