/** The version of commitlog: `commitlog --version` and Admin.GetStatus report it (keep equal to package.json). */
export const VERSION = '0.1.0';
