/** Casbin ACL: actions produce/consume/admin on object "*", subject = client certificate CN. */
export * from './authorizer.js';
