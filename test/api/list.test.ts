import { expect } from 'chai';
import { startApi, minimalTask, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial } from '../support/official-spec.js';

describe('api: ListTasks', () => {
  let api: ApiHarness;
  /** Ids in creation order. */
  const ids: string[] = [];

  before(async () => {
    api = await startApi();
    for (let i = 0; i < 300; i++) {
      const task = minimalTask({ name: i % 2 === 0 ? `even-${i}` : `odd-${i}` });
      ids.push((await api.request('POST', '/tasks', task)).body.id);
    }
  });
  after(async () => {
    await api.destroy();
  });

  async function list(query: string) {
    const response = await api.request('GET', `/tasks${query}`);
    expect(response.status, JSON.stringify(response.body)).to.equal(200);
    const minimal = !/view=(BASIC|FULL)/.test(query);
    assertOfficial('tesListTasksResponse', response.body, { minimal });
    return response.body as { tasks: Array<Record<string, unknown>>; next_page_token?: string };
  }

  async function listAll(query: string): Promise<string[]> {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const separator = query ? '&' : '?';
      const suffix = token ? `${separator}page_token=${encodeURIComponent(token)}` : '';
      const page = await list(`${query}${suffix}`);
      seen.push(...page.tasks.map((task) => task.id as string));
      token = page.next_page_token;
    } while (token);
    return seen;
  }

  it('defaults to 256 MINIMAL tasks, newest first', async () => {
    const page = await list('');
    expect(page.tasks).to.have.length(256);
    expect(page.tasks[0]).to.have.all.keys('id', 'state');
    expect(page.tasks[0]!.id).to.equal(ids[ids.length - 1]);
    expect(page.next_page_token).to.be.a('string');
  });

  it('pages cover every task once, in order', async () => {
    const seen = await listAll('?page_size=7');
    expect(seen).to.deep.equal([...ids].reverse());
  });

  it('omits next_page_token on the last page', async () => {
    const page = await list('?page_size=2047');
    expect(page.tasks).to.have.length(300);
    expect(page).to.not.have.property('next_page_token');
  });

  it('page_size of 2048 is 400', async () => {
    const response = await api.request('GET', '/tasks?page_size=2048');
    expect(response.status).to.equal(400);
    expect(response.body.msg).to.include('page_size: must be an integer from 1 to 2047');
  });

  for (const bad of ['0', '-1', 'ten', '1.5']) {
    it(`page_size ${bad} is 400`, async () => {
      const response = await api.request('GET', `/tasks?page_size=${bad}`);
      expect(response.status).to.equal(400);
      expect(response.body.msg).to.include('page_size');
    });
  }

  it('tampered page token is 400', async () => {
    const { next_page_token: token } = await list('?page_size=5');
    const [payload, tag] = token!.split('.');
    const forged = Buffer.from(
      Buffer.from(payload!, 'base64url')
        .toString()
        .replace(/"a":"[^"]+"/, `"a":"${ids[10]}"`),
    ).toString('base64url');
    for (const candidate of [`${forged}.${tag}`, `${token}x`, 'garbage', `${payload}.`]) {
      const response = await api.request(
        'GET',
        `/tasks?page_token=${encodeURIComponent(candidate)}`,
      );
      expect(response.status, candidate).to.equal(400);
      expect(response.body.msg).to.include('page_token: invalid');
    }
  });

  it('page token of other filters is 400', async () => {
    const { next_page_token: token } = await list('?page_size=5&name_prefix=even');
    const response = await api.request(
      'GET',
      `/tasks?name_prefix=odd&page_token=${encodeURIComponent(token!)}`,
    );
    expect(response.status).to.equal(400);
  });

  it('filters by name_prefix', async () => {
    const seen = await listAll('?name_prefix=odd-2&page_size=10');
    const expected = ids.filter((_, i) => i % 2 === 1 && String(i).startsWith('2')).reverse();
    expect(seen).to.deep.equal(expected);
  });

  it('filters by state', async () => {
    await api.request('POST', `/tasks/${ids[3]}:cancel`);
    await api.request('POST', `/tasks/${ids[5]}:cancel`);
    expect(await listAll('?state=CANCELED')).to.deep.equal([ids[5], ids[3]]);
    expect(await listAll('?state=QUEUED')).to.have.length(298);
  });

  it('unknown state is 400', async () => {
    const response = await api.request('GET', '/tasks?state=DONE');
    expect(response.status).to.equal(400);
    expect(response.body.msg).to.include('state: must be one of');
  });

  it('BASIC and FULL lists carry documents', async () => {
    const basic = await list('?view=BASIC&page_size=1');
    expect(basic.tasks[0]).to.include.keys('id', 'state', 'executors', 'creation_time');
    const full = await list('?view=FULL&page_size=1');
    expect(full.tasks[0]).to.include.keys('id', 'state', 'executors', 'logs');
  });

  it('more tag_value than tag_key is 400', async () => {
    const response = await api.request('GET', '/tasks?tag_key=a&tag_value=1&tag_value=2');
    expect(response.status).to.equal(400);
    expect(response.body.msg).to.include('tag_value');
  });
});

describe('api: ListTasks tag filters', () => {
  let api: ApiHarness;
  /** Task id by the tags it was created with, as written in the specification's table. */
  const byTags = new Map<string, string>();
  const tagSets = [{ foo: 'bar' }, { foo: 'bat' }, { foo: '' }, { foo: 'bar', baz: 'bat' }, {}];

  before(async () => {
    api = await startApi();
    for (const tags of tagSets) {
      const response = await api.request('POST', '/tasks', minimalTask({ tags }));
      byTags.set(JSON.stringify(tags), response.body.id);
    }
  });
  after(async () => {
    await api.destroy();
  });

  async function matching(query: string): Promise<string[]> {
    const response = await api.request('GET', `/tasks?${query}`);
    expect(response.status).to.equal(200);
    const found = new Set((response.body.tasks as Array<{ id: string }>).map((task) => task.id));
    return tagSets
      .filter((tags) => found.has(byTags.get(JSON.stringify(tags))!))
      .map((tags) => JSON.stringify(tags));
  }

  // The rows of the table under tag_key in the TES v1.1.0 specification.
  const rows: Array<[string, string, Record<string, string>, boolean]> = [
    ['{"foo":"bar"} matches {"foo":"bar"}', 'tag_key=foo&tag_value=bar', { foo: 'bar' }, true],
    ['{"foo":"bar"} skips {"foo":"bat"}', 'tag_key=foo&tag_value=bar', { foo: 'bat' }, false],
    ['{"foo":""} matches {"foo":""}', 'tag_key=foo', { foo: '' }, true],
    [
      '{"foo":"bar","baz":"bat"} matches the same',
      'tag_key=foo&tag_value=bar&tag_key=baz&tag_value=bat',
      { foo: 'bar', baz: 'bat' },
      true,
    ],
    [
      '{"foo":"bar"} matches {"foo":"bar","baz":"bat"}',
      'tag_key=foo&tag_value=bar',
      { foo: 'bar', baz: 'bat' },
      true,
    ],
    [
      '{"foo":"bar","baz":"bat"} skips {"foo":"bar"}',
      'tag_key=foo&tag_value=bar&tag_key=baz&tag_value=bat',
      { foo: 'bar' },
      false,
    ],
    ['{"foo":""} matches {"foo":"bar"}', 'tag_key=foo', { foo: 'bar' }, true],
    ['{"foo":""} skips {}', 'tag_key=foo', {}, false],
    ['an empty tag_value matches any value', 'tag_key=foo&tag_value=', { foo: 'bat' }, true],
  ];
  for (const [name, query, tags, expected] of rows) {
    it(name, async () => {
      const result = await matching(query);
      expect(result.includes(JSON.stringify(tags))).to.equal(expected);
    });
  }

  it('16 tag filters at once', async () => {
    const tags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`]));
    const { body } = await api.request('POST', '/tasks', minimalTask({ tags }));
    const query = Object.entries(tags)
      .map(([key, value]) => `tag_key=${key}&tag_value=${value}`)
      .join('&');
    const response = await api.request('GET', `/tasks?${query}`);
    expect(response.status).to.equal(200);
    expect(response.body.tasks).to.deep.equal([{ id: body.id, state: 'QUEUED' }]);
  });

  it('17 tag filters are 400', async () => {
    const query = Array.from({ length: 17 }, (_, i) => `tag_key=k${i}`).join('&');
    const response = await api.request('GET', `/tasks?${query}`);
    expect(response.status).to.equal(400);
    expect(response.body.msg).to.equal('tag_key: at most 16 may be given, got 17');
  });

  it('page token survives reordered tags', async () => {
    for (let i = 0; i < 2; i++) {
      await api.request('POST', '/tasks', minimalTask({ tags: { x: '1', y: '2' } }));
    }
    const first = await api.request('GET', '/tasks?tag_key=x&tag_value=1&tag_key=y&page_size=1');
    const token = encodeURIComponent(first.body.next_page_token as string);
    const reordered = `/tasks?tag_key=y&tag_value=&tag_key=x&tag_value=1&page_size=1`;
    const response = await api.request('GET', `${reordered}&page_token=${token}`);
    expect(response.status).to.equal(200);
    expect(response.body.tasks).to.have.lengthOf(1);
    expect(response.body.tasks[0].id).to.not.equal(first.body.tasks[0].id);
  });
});

describe('api: ListTasks of large tasks', () => {
  let api: ApiHarness;
  const content = 'c'.repeat(12 * 1024 * 1024);

  before(async () => {
    api = await startApi();
    for (let i = 0; i < 4; i++) {
      await api.request('POST', '/tasks', minimalTask({ inputs: [{ path: '/in/x', content }] }));
    }
  });
  after(async () => {
    await api.destroy();
  });

  for (const view of ['BASIC', 'FULL']) {
    it(`${view} pages end before 32 MiB of documents`, async () => {
      const first = await api.request('GET', `/tasks?view=${view}&page_size=10`);
      expect(first.status).to.equal(200);
      expect(first.body.tasks).to.have.lengthOf(2);
      const token = encodeURIComponent(first.body.next_page_token as string);

      const second = await api.request(
        'GET',
        `/tasks?view=${view}&page_size=10&page_token=${token}`,
      );
      expect(second.body.tasks).to.have.lengthOf(2);
      expect(second.body).to.not.have.property('next_page_token');
    });
  }

  it('MINIMAL page is not shortened', async () => {
    const page = await api.request('GET', '/tasks?page_size=10');
    expect(page.body.tasks).to.have.lengthOf(4);
  });
});
