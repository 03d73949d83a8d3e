package io.nodecast.bundle;

/** What a bundle does with Python bytecode (__pycache__/*.pyc). */
public enum PycMode {
    /** Ship the bytecode the prefix already has; nodes compile only what is missing. */
    KEEP,
    /** Ship no bytecode, as the paper did: every rank of every node compiles every module it imports. */
    DROP,
    /** Ship existing bytecode and compile, at bundle time with the prefix's own interpreter, what is missing. */
    COMPILE
}
