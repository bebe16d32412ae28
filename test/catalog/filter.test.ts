import { expect } from 'chai';
import { compileFilter, evaluate, FilterError, parseFilter } from '../../catalog/filter.js';
import { StateStore } from '../../catalog/state/store.js';
import { mustApply, nodeReq, registerCmd } from './state/helpers.js';

/** A /v1/health/service element, Consul-shaped. */
const web = {
  Node: { Node: 'n1', Address: '203.0.113.1', Datacenter: 'dc1', Meta: { env: 'prod', 'consul-network-segment': '' }, TaggedAddresses: {} },
  Service: { ID: 'web1', Service: 'web', Tags: ['v1', 'primary'], Port: 8080, EnableTagOverride: false, Meta: {}, Weights: { Passing: 1, Warning: 1 }, Address: '' },
  Checks: [
    { CheckID: 'serfHealth', Status: 'passing', ServiceTags: [] },
    { CheckID: 'web-http', Status: 'critical', ServiceTags: ['v1', 'primary'] },
  ],
  Nothing: null,
};

describe('catalog/filter', () => {
  const table: Array<[string, boolean]> = [
    ['Service.Service == web', true],
    ['Service.Service == "web"', true],
    ['Service.Service == `web`', true],
    ['Service.Service != web', false],
    ['Service.Service == Web', false],
    ['service.Service == web', false],
    ['Service.Port == 8080', true],
    ['Service.Port == "8080"', true],
    ['Service.Port != 80', true],
    ['Service.Port == 8080.5', false],
    ['Service.EnableTagOverride == false', true],
    ['Service.EnableTagOverride == true', false],
    ['Service.Weights.Passing == 1', true],
    ['v1 in Service.Tags', true],
    ['"primary" in Service.Tags', true],
    ['"v2" in Service.Tags', false],
    ['"v2" not in Service.Tags', true],
    ['Service.Tags contains v1', true],
    ['Service.Tags not contains v1', false],
    ['Service.Tags is not empty', true],
    ['Service.Meta is empty', true],
    ['Service.Address is empty', true],
    ['Node.Address is empty', false],
    ['Nothing is empty', true],
    ['Missing.Field is empty', true],
    ['Missing.Field is not empty', false],
    ['Node.Meta.env == prod', true],
    ['Node.Meta["env"] == "prod"', true],
    ['Node.Meta["consul-network-segment"] is empty', true],
    ['env in Node.Meta', true],
    ['"rack" in Node.Meta', false],
    ['Node.Meta contains env', true],
    ['Node.Meta.rack == r1', false],
    ['Node.Meta.rack != r1', true],
    ['Node.Address matches "^203\\\\.0\\\\."', true],
    ['Node.Address matches `^203\\.0\\.`', true],
    ['Node.Address matches "^192"', false],
    ['Node.Address not matches "^192"', true],
    ['Node.Node matches n', true],
    ['Node.Address contains "3.0"', true],
    ['"0.1" in Node.Address', true],
    ['Checks.Status == critical', true],
    ['Checks.Status == warning', false],
    ['Checks.Status != passing', true],
    ['Checks.CheckID == serfHealth and Checks.Status == passing', true],
    ['Checks.0.CheckID == serfHealth', true],
    ['Checks.1.Status == passing', false],
    ['v1 in Checks.ServiceTags', true],
    ['"/Service/Service" == web', true],
    ['"/Node/Meta/env" == prod', true],
    ['Service.Service == web and Service.Port == 8080', true],
    ['Service.Service == web and Service.Port == 80', false],
    ['Service.Service == db or Service.Port == 8080', true],
    ['not Service.Service == db', true],
    ['not not Service.Service == web', true],
    ['not (Service.Service == web or Service.Port == 1)', false],
    ['(Service.Service == db or Service.Service == web) and v1 in Service.Tags', true],
    ['Service.Service == db or Service.Service == web and "v9" in Service.Tags', false],
    ['Service.Service == web or Service.Service == db and "v9" in Service.Tags', true],
    ['  ( ( Service.Port==8080 ) )  ', true],
    ['Service.Service == "we\\u0062"', true],
    ['Service.Service == "w\\"eb"', false],
  ];
  for (const [src, want] of table) {
    it(`${src} → ${want}`, () => {
      expect(evaluate(parseFilter(src), web)).to.equal(want);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty expression at position 1/],
    ['   ', /empty expression/],
    ['Service.Service', /expected an operator after the selector/],
    ['Service.Service = web', /expected an operator .* at position 17/],
    ['Service.Service == ', /expected a value after "=="/],
    ['Service.Service == "web', /unterminated string at position 20/],
    ['Service.Service == `web', /unterminated string/],
    ['(Service.Service == web', /unclosed "\(" opened at position 1/],
    ['Service.Service == web)', /unmatched "\)" at position 23/],
    ['()', /empty parentheses/],
    ['Service. == web', /expected a field name after "."/],
    ['Service.Tags[0] == web', /expected a quoted key/],
    ['Node.Meta["env" == prod', /unclosed "\["/],
    ['"x" in "y"', /expected a selector after "in"/],
    ['Service.Service == web and', /expected a selector or value/],
    ['Service.Service == web web', /expected "and", "or" or the end/],
    ['Service.Tags is full', /expected "is empty" or "is not empty"/],
    ['Service.Port == 80x', /invalid number/],
    ['Node.Node matches "("', /invalid regular expression/],
    ['Service.Service == "\\q"', /invalid escape sequence/],
    ['== web', /expected a selector or value at position 1/],
    ['and == x', /unexpected keyword "and"/],
  ];
  for (const [src, msg] of bad) {
    it(`rejects ${JSON.stringify(src)} with a FilterError`, () => {
      let err: unknown;
      try {
        parseFilter(src);
      } catch (e) {
        err = e;
      }
      expect(err, src).to.be.instanceOf(FilterError);
      expect((err as Error).message).to.match(/^filter: /).and.match(msg);
      expect((err as FilterError).position).to.be.a('number');
    });
  }

  it('compileFilter filters real store output (health and catalog shapes)', () => {
    const s = new StateStore();
    mustApply(s, 1, registerCmd({ ...nodeReq('n1', '203.0.113.1'), NodeMeta: { env: 'prod' }, Service: { ID: 'web1', Service: 'web', Tags: ['v1'], Port: 80 } }));
    mustApply(s, 2, registerCmd({ ...nodeReq('n2', '203.0.113.2', 'critical'), NodeMeta: { env: 'dev' }, Service: { ID: 'web2', Service: 'web', Tags: ['v2'], Port: 81 } }));
    const health = s.checkServiceNodes('web').value;
    expect(health.filter(compileFilter('Checks.Status == critical')).map((x) => x.Node.Node)).to.deep.equal(['n2']);
    expect(health.filter(compileFilter('Node.Meta.env == prod and v1 in Service.Tags')).map((x) => x.Node.Node)).to.deep.equal(['n1']);
    const catalog = s.serviceNodes('web').value;
    expect(catalog.filter(compileFilter('ServicePort == 81 or NodeMeta.env == prod')).map((x) => x.ServiceID)).to.deep.equal(['web1', 'web2']);
    expect(catalog.filter(compileFilter('ServiceTags not contains v1')).map((x) => x.ServiceID)).to.deep.equal(['web2']);
    expect(() => compileFilter('ServicePort > 1')).to.throw(FilterError);
  });
});
