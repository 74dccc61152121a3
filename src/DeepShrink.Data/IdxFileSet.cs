namespace DeepShrink.Data;

/// <summary>Paths of the four standard IDX files of a train/test dataset.</summary>
/// <param name="TrainImages">train-images-idx3-ubyte[.gz]</param>
/// <param name="TrainLabels">train-labels-idx1-ubyte[.gz]</param>
/// <param name="TestImages">t10k-images-idx3-ubyte[.gz]</param>
/// <param name="TestLabels">t10k-labels-idx1-ubyte[.gz]</param>
public sealed record IdxFileSet(string TrainImages, string TrainLabels, string TestImages, string TestLabels)
{
    /// <summary>Standard base names, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> StandardNames { get; } = new[]
    {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    };

    /// <summary>
    /// Finds the four files in <paramref name="directory"/>. Each may be raw or gzip (<c>NAME</c> or
    /// <c>NAME.gz</c>; also the <c>train-images.idx3-ubyte</c> spelling); raw wins when both exist.
    /// Returns the first missing base name instead when one is absent.
    /// </summary>
    public static IdxFileSet? Find(string directory, out string? missing)
    {
        var found = new string[4];
        for (int i = 0; i < 4; i++)
        {
            string name = StandardNames[i];
            string dotted = name.Replace("-idx", ".idx", StringComparison.Ordinal);
            var hit = new[] { name, name + ".gz", dotted, dotted + ".gz" }
                .Select(n => Path.Combine(directory, n))
                .FirstOrDefault(File.Exists);
            if (hit is null) { missing = name; return null; }
            found[i] = hit;
        }
        missing = null;
        return new IdxFileSet(found[0], found[1], found[2], found[3]);
    }
}
