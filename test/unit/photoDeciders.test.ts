import { describe, it } from 'vitest';
import { deciderSpec } from '../../src/index.ts';
import { assignmentDecider } from '../../sample-app/workflow/assignmentDecider.ts';
import { poolDecider } from '../../sample-app/workflow/poolDecider.ts';

const enlisted = (photographerId: string, phone: string) => ({ type: 'photo.photographer-enlisted' as const, data: { photographerId, name: photographerId, phone } });
const claimed = (productId: string, photographerId: string, attempt = 1) => ({ type: 'photo.photographer-claimed' as const, data: { productId, photographerId, attempt } });
const ann = enlisted('ann', '+14155550101');
const bob = enlisted('bob', '+14155550102');

describe('the photographer pool decider', () => {
  const given = deciderSpec(poolDecider);

  it('claims the least-loaded photographer, the earliest registered on a tie, leaving out the excluded', () => {
    given([ann, bob]).when({ kind: 'claim', productId: 'p1', attempt: 1, exclude: [] }).then([claimed('p1', 'ann')]);
    given([ann, bob, claimed('p1', 'ann')]).when({ kind: 'claim', productId: 'p2', attempt: 1, exclude: [] }).then([claimed('p2', 'bob')]);
    given([ann, bob, claimed('p1', 'bob'), claimed('p2', 'bob')]).when({ kind: 'claim', productId: 'p3', attempt: 1, exclude: ['ann'] }).then([claimed('p3', 'bob')]);
  });

  it('queues a product nobody can take, once per attempt; a repeated claim decides nothing', () => {
    given([ann]).when({ kind: 'claim', productId: 'p1', attempt: 2, exclude: ['ann'] }).then([{ type: 'photo.queued', data: { productId: 'p1', attempt: 2 } }]);
    given([ann, { type: 'photo.queued', data: { productId: 'p1', attempt: 2 } }]).when({ kind: 'claim', productId: 'p1', attempt: 2, exclude: ['ann'] }).then([]);
    given([ann, claimed('p1', 'ann')]).when({ kind: 'claim', productId: 'p1', attempt: 1, exclude: [] }).then([]);
    given([ann, claimed('p1', 'ann')]).when({ kind: 'claim', productId: 'p1', attempt: 2, exclude: ['ann'] }).thenThrows();
  });

  it('enlists a photographer once and refuses a phone that names someone else', () => {
    given([ann]).when({ kind: 'enlist', photographerId: 'ann', name: 'ann', phone: '+14155550101' }).then([]);
    given([ann]).when({ kind: 'enlist', photographerId: 'eve', name: 'eve', phone: '+14155550101' }).then([]);
    given([ann]).when({ kind: 'enlist', photographerId: 'ann', name: 'Ann B.', phone: '+14155550101' }).then([{ type: 'photo.photographer-enlisted', data: { photographerId: 'ann', name: 'Ann B.', phone: '+14155550101' } }]);
  });

  it('releases a held claim once', () => {
    given([ann, claimed('p1', 'ann')]).when({ kind: 'release', productId: 'p1', attempt: 1, reason: 'photo' }).then([{ type: 'photo.photographer-released', data: { productId: 'p1', photographerId: 'ann', attempt: 1, reason: 'photo' } }]);
    given([ann]).when({ kind: 'release', productId: 'p1', attempt: 1, reason: 'photo' }).then([]);
  });
});

describe('the photo assignment decider', () => {
  const given = deciderSpec(assignmentDecider);
  const requested = { type: 'photo.requested' as const, data: { productId: 'p1', productName: 'Parka', merchantName: 'Nordwest' } };
  const assigned = (photographerId: string, attempt: number) => ({ type: 'photo.assigned' as const, data: { productId: 'p1', photographerId, phone: '+14155550101', attempt, deadline: '2025-01-01T00:10:00.000Z' } });
  const unassigned = (photographerId: string, attempt: number) => ({ type: 'photo.unassigned' as const, data: { productId: 'p1', photographerId, attempt, reason: 'deadline' as const } });

  it('requests a photo once per product', () => {
    given([]).when({ kind: 'request', productId: 'p1', productName: 'Parka', merchantName: 'Nordwest' }).then([requested]);
    given([requested]).when({ kind: 'request', productId: 'p1', productName: 'Parka', merchantName: 'Nordwest' }).then([]);
  });

  it('assigns only the next attempt, and never to a photographer who had the product', () => {
    const assign = (photographerId: string, attempt: number) => ({ kind: 'assign' as const, productId: 'p1', attempt, photographerId, phone: '+14155550101', deadline: '2025-01-01T00:10:00.000Z' });
    given([requested]).when(assign('ann', 1)).then([assigned('ann', 1)]);
    given([requested, assigned('ann', 1)]).when(assign('ann', 1)).then([]);
    given([requested, assigned('ann', 1), unassigned('ann', 1)]).when(assign('ann', 2)).thenThrows();
  });

  it('times out only the current attempt, and gives up after maxAttempts', () => {
    given([requested, assigned('ann', 1)]).when({ kind: 'time-out', productId: 'p1', attempt: 1, maxAttempts: 3 }).then([unassigned('ann', 1)]);
    given([requested, assigned('ann', 1), unassigned('ann', 1), assigned('bob', 2)]).when({ kind: 'time-out', productId: 'p1', attempt: 1, maxAttempts: 3 }).then([]);
    given([requested, assigned('ann', 1), unassigned('ann', 1), assigned('bob', 2)]).when({ kind: 'time-out', productId: 'p1', attempt: 2, maxAttempts: 2 }).then([unassigned('bob', 2), { type: 'photo.unavailable', data: { productId: 'p1', attempts: 2 } }]);
  });

  it('is completed by the current assignee only', () => {
    given([requested, assigned('ann', 1)]).when({ kind: 'complete', productId: 'p1', photographerId: 'ann' }).then([{ type: 'photo.assignment-completed', data: { productId: 'p1', photographerId: 'ann', attempt: 1 } }]);
    given([requested, assigned('ann', 1), unassigned('ann', 1), assigned('bob', 2)]).when({ kind: 'complete', productId: 'p1', photographerId: 'ann' }).then([]);
  });
});
