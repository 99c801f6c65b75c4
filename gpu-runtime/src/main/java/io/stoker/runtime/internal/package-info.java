/**
 * Internals shared between the runtime's packages: result slots, the wait/wake protocol, actor threads and the
 * hooks that install graph programs on actors. Not API: everything here may change without notice, and nothing
 * outside {@code io.stoker.runtime} should use it.
 */
package io.stoker.runtime.internal;
