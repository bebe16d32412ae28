import { expect } from 'chai';
import { parseJsonExactFlags, stringifyJson } from '../../../agent/runtime/json64.js';

describe('runtime: JSON with exact 64-bit flags', () => {
  it('parses a big Flags value exactly and leaves every other number to JSON.parse', () => {
    const text = '[{"Key":"a","Flags":3304740253564472344,"Index":12345678901234567,"Value":"x"},{"flags": 18446744073709551615},{"Flags":7}]';
    const v = parseJsonExactFlags(text) as Array<Record<string, unknown>>;
    expect(v[0]!.Flags).to.equal(3304740253564472344n);
    expect(v[0]!.Index).to.equal(JSON.parse('12345678901234567'));
    expect(v[0]!.Value).to.equal('x');
    expect(v[1]!.flags).to.equal(18446744073709551615n);
    expect(v[2]!.Flags).to.equal(7);
  });

  it('returns canonical forms: a number up to 2^53 - 1, a bigint above', () => {
    expect((parseJsonExactFlags('{"Flags":1234567890123456}') as Record<string, unknown>).Flags).to.equal(1234567890123456);
    expect((parseJsonExactFlags('{"Flags":9007199254740992}') as Record<string, unknown>).Flags).to.equal(9007199254740992n);
  });

  it('is not fooled by strings, nested values and negative numbers', () => {
    const v = parseJsonExactFlags('{"Key":"\\"Flags\\": 12345678901234567890","Flags":[12345678901234567890],"Other":{"Flags":-12345678901234567890}}') as Record<string, unknown>;
    expect(v.Key).to.equal('"Flags": 12345678901234567890');
    expect(v.Flags).to.deep.equal([JSON.parse('12345678901234567890')]);
    expect((v.Other as Record<string, unknown>).Flags).to.equal(-12345678901234567890);
    expect((parseJsonExactFlags('{"Flags":18446744073709551616}') as Record<string, unknown>).Flags).to.equal('18446744073709551616');
  });

  it('throws SyntaxError on malformed JSON, like JSON.parse', () => {
    expect(() => parseJsonExactFlags('{"Flags":')).to.throw(SyntaxError);
    expect(() => parseJsonExactFlags('{"Flags":12345678901234567890')).to.throw(SyntaxError);
  });

  it('stringifies bigints as exact literals and matches JSON.stringify otherwise, indented or not', () => {
    const plain = { a: [1, 'two', null, { b: true, u: undefined }], e: [], o: {}, d: new Date(0), s: 'q"' };
    for (const indent of [0, 2, 4]) expect(stringifyJson(plain, indent)).to.equal(JSON.stringify(plain, null, indent));
    const big = { Flags: 16210313421097356768n, rest: plain, list: [1n, undefined] };
    const expected = (indent: number): string =>
      JSON.stringify({ Flags: 'BIG', rest: plain, list: ['ONE', null] }, null, indent).replace('"BIG"', '16210313421097356768').replace('"ONE"', '1');
    for (const indent of [0, 4]) expect(stringifyJson(big, indent)).to.equal(expected(indent));
    expect(stringifyJson(big, '\t')).to.equal(JSON.stringify({ Flags: 'BIG', rest: plain, list: ['ONE', null] }, null, '\t').replace('"BIG"', '16210313421097356768').replace('"ONE"', '1'));
    expect(parseJsonExactFlags(stringifyJson(big))).to.deep.include({ Flags: 16210313421097356768n });
  });
});
