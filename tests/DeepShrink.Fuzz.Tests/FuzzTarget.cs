using DeepShrink.Core;

namespace DeepShrink.Fuzz.Tests;

/// <summary>
/// One reader under fuzzing: seed files, how to mutate them, how to read a file, and the exception
/// types the reader documents for bad input (anything else escaping is a crash).
/// </summary>
/// <param name="Name">Short name; also the folder of its regression files under Regressions/.</param>
/// <param name="Seeds">Valid files the mutants start from.</param>
/// <param name="Mutate">Makes one mutant of a seed.</param>
/// <param name="Read">Reads (and uses) one file; returns normally when the file is accepted.</param>
/// <param name="Documented">Exception types the reader may throw on bad input.</param>
internal sealed record FuzzTarget(
    string Name,
    IReadOnlyList<byte[]> Seeds,
    Func<byte[], Rng, byte[]> Mutate,
    Action<byte[]> Read,
    IReadOnlyList<Type> Documented);
