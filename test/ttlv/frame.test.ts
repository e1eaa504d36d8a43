import t from 'tap';
import { FrameReader, decode } from '../../src/ttlv/index.js';
import { hex, locateRequest } from './vectors.js';

const message = locateRequest.bytes;
const small = hex('42 00 20 | 01 | 00 00 00 10 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00');

t.test('a message split at every offset comes out whole, once', async (t) => {
  for (let cut = 0; cut <= message.length; cut++) {
    const reader = new FrameReader();
    const out = [...reader.push(message.subarray(0, cut)), ...reader.push(message.subarray(cut))];
    t.equal(out.length, 1, `cut at ${cut}`);
    t.same(out[0], message);
    t.equal(reader.buffered, 0);
  }
});

t.test('byte-at-a-time feeding yields each message exactly when its last byte arrives', async (t) => {
  const stream = Buffer.concat([message, small, message]);
  const reader = new FrameReader();
  const ends: number[] = [];
  for (let i = 0; i < stream.length; i++) {
    for (const m of reader.push(stream.subarray(i, i + 1))) {
      ends.push(i + 1);
      t.doesNotThrow(() => decode(m));
    }
  }
  t.same(ends, [message.length, message.length + small.length, stream.length]);
});

t.test('several messages in one chunk, and a tail carried into the next', async (t) => {
  const reader = new FrameReader();
  const chunk = Buffer.concat([small, message, small.subarray(0, 5)]);
  const first = reader.push(chunk);
  t.same(first, [small, message]);
  t.equal(reader.buffered, 5);
  t.same(reader.push(small.subarray(5)), [small]);
});

t.test('the size limit is enforced from the header, before the body is buffered', async (t) => {
  const reader = new FrameReader({ maxMessageSize: 64 });
  const header = hex('42 00 78 | 01 | 7F FF FF F8');
  t.throws(() => reader.push(header), { name: 'TtlvError', code: 'TOO_LARGE', offset: 4 });
  t.equal(reader.buffered, 0, 'nothing of the body was held');
  t.throws(() => reader.push(small), { code: 'TOO_LARGE' }, 'the reader stays failed: the framing is lost');

  const exact = new FrameReader({ maxMessageSize: small.length });
  t.same(exact.push(small), [small], 'a message of exactly the limit is accepted');
  t.throws(() => new FrameReader({ maxMessageSize: small.length - 8 }).push(small.subarray(0, 8)), { code: 'TOO_LARGE' }, 'the header alone is enough to refuse');
});

t.test('a stream that does not start with a Structure header is refused at once', async (t) => {
  t.throws(() => new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\n')), { code: 'UNKNOWN_TYPE' });
  t.throws(() => new FrameReader().push(hex('42 00 78 | 01 | 00 00 00 03')), { code: 'BAD_LENGTH' });
});

t.test('messages completed before a bad header in the same chunk are handed over with the error', async (t) => {
  const reader = new FrameReader();
  const chunk = Buffer.concat([small, message, Buffer.from('garbage!')]);
  t.throws(() => reader.push(chunk), { name: 'TtlvError', code: 'UNKNOWN_TYPE', offset: small.length + message.length + 3, completed: [small, message] });
});
