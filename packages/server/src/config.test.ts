import { describe, expect, it } from 'vitest';
import { abuseConfigFromEnv, defaultConfig, envName } from './config.js';

describe('abuse settings from the environment', () => {
  it('reads PARLEY_ + SNAKE_CASE of each setting, and the trusted proxies as a list', () => {
    expect(envName('strikeWindowMs')).toBe('PARLEY_STRIKE_WINDOW_MS');
    expect(abuseConfigFromEnv({ PARLEY_BAN_MS: '60000', PARLEY_POW_MAX_DIFFICULTY: '12', PARLEY_STRIKE_LIMIT: ' ', PARLEY_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2,' })).toEqual({
      banMs: 60_000,
      powMaxDifficulty: 12,
      trustedProxies: ['10.0.0.1', '10.0.0.2'],
    });
    expect(abuseConfigFromEnv({})).toEqual({});
    expect(abuseConfigFromEnv({ PARLEY_TIMELOCK_SQUARINGS_PER_SECOND: '250000', PARLEY_TIMELOCK_MAX_HORIZON_MS: '86400000' })).toEqual({
      timelockSquaringsPerSecond: 250_000,
      timelockMaxHorizonMs: 86_400_000,
    });
  });

  it('names the variable when a value is not a non-negative number', () => {
    expect(() => abuseConfigFromEnv({ PARLEY_MAX_CONNECTIONS_PER_IP: 'lots' })).toThrow(/PARLEY_MAX_CONNECTIONS_PER_IP must be a non-negative number/);
    expect(() => abuseConfigFromEnv({ PARLEY_BAN_MS: '-1' })).toThrow(/PARLEY_BAN_MS/);
  });

  it('has defaults for every abuse setting', () => {
    for (const key of ['upgradeTimeoutMs', 'pongTimeoutMs', 'maxBufferedBytes', 'strikeLimit', 'powMaxDifficulty'] as const) expect(defaultConfig[key]).toBeGreaterThan(0);
  });
});
