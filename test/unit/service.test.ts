import { strict as assert } from 'node:assert';
import { Service, serviceName, isServiceName } from '../../src/core/service';

describe('service types', () => {
  it('maps Spread flag values to names and back', () => {
    assert.equal(serviceName(Service.SAFE), 'SAFE');
    assert.equal(serviceName(0x30), undefined);
    assert.ok(isServiceName('AGREED'));
    assert.ok(!isServiceName('BOGUS'));
  });
});
