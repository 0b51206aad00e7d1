import { filterToSql, parseFilter } from './object-filter';

const FIELDS = ['network', 'name'];

describe('object set filters', () => {
  it('parses conditions with and/or, precedence and parentheses', () => {
    expect(parseFilter('name $= ".example.com" and network = internet or name = a', FIELDS)).toEqual({
      kind: 'or',
      left: {
        kind: 'and',
        left: { kind: 'condition', field: 'name', operator: '$=', value: '.example.com' },
        right: { kind: 'condition', field: 'network', operator: '=', value: 'internet' },
      },
      right: { kind: 'condition', field: 'name', operator: '=', value: 'a' },
    });
    expect(parseFilter('name ^= www. AND (network = a OR network = "b c")', FIELDS)).toMatchObject({
      kind: 'and',
      right: { kind: 'or' },
    });
  });

  it('compiles to parameterised SQL, escaping LIKE wildcards', () => {
    const params: unknown[] = [];
    const sql = filterToSql(parseFilter('name $= "100%_off" or name != x', FIELDS), params);
    expect(sql).toBe('(o.data->>$1 LIKE $2 OR o.data->>$3 IS DISTINCT FROM $4)');
    expect(params).toEqual(['name', '%100\\%\\_off', 'name', 'x']);
  });

  it.each([
    ['colour = red', 'at character 1: unknown field "colour"; the fields are network, name'],
    ['name red', 'at character 6: expected an operator (= != ^= $= *=) after name'],
    ['name =', 'at character 7: expected a value after ='],
    ['name = "open', 'at character 8: a quoted value is not closed with "'],
    ['(name = a', 'at character 10: expected ")"'],
    ['name = a b', 'at character 10: expected "and", "or" or the end, not "b"'],
    ['and', 'at character 1: unknown field "and"; the fields are network, name'],
  ])('points at the error in %j', (source, message) => {
    expect(() => parseFilter(source, FIELDS)).toThrow(message);
  });
});
