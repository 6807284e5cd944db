// test:stress fixture (scripts/stress.test.ts): one test whose process holds 400 MB and
// waits to be stopped (the script's memory limit stops it; mocha's timeout bounds it).
describe('stress memory fixture', function () {
  this.timeout(90_000);
  it('holds 400 MB until it is stopped', async () => {
    const held = Buffer.alloc(400 * 2 ** 20, 1);
    await new Promise((resolve) => setTimeout(resolve, 80_000));
    if (held.length === 0) throw new Error('unreachable');
  });
});
