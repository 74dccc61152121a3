namespace DeepShrink.Data;

/// <summary>
/// A dataset named on the command line: <c>fashion-mnist</c>, <c>fashion-mnist:DIR</c>,
/// <c>mnist</c>, <c>mnist:DIR</c>, <c>idx:DIR</c> or <c>imagefolder:DIR</c>.
/// </summary>
/// <remarks>
/// <c>imagefolder:DIR</c> reads decoded images, see <see cref="ImageFolderReader"/>. The other forms read a directory holding the four standard IDX files (raw or gzip, see
/// <see cref="IdxFileSet.Find"/>). <c>fashion-mnist</c> defaults to
/// <see cref="FashionMnistDirectory"/>, where the Debian package <c>dataset-fashion-mnist</c>
/// installs it; <c>mnist</c> defaults to <see cref="MnistDirectory"/>.
/// </remarks>
public sealed record DatasetSpec
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs Fashion-MNIST.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";
    /// <summary>Default location looked at for <c>mnist</c>.</summary>
    public const string MnistDirectory = "/usr/share/datasets/mnist";
    /// <summary>The Debian package that provides Fashion-MNIST.</summary>
    public const string FashionMnistPackage = "dataset-fashion-mnist";

    /// <summary>Fashion-MNIST class names, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>The dataset family.</summary>
    public DatasetKind Kind { get; }
    /// <summary>The directory the files are read from.</summary>
    public string Directory { get; }
    /// <summary>True when no directory was given and the family's default location is used.</summary>
    public bool IsDefaultDirectory { get; }

    /// <summary>Creates a spec for a family and directory (null directory = the family's default).</summary>
    public DatasetSpec(DatasetKind kind, string? directory = null)
    {
        if (directory is null)
        {
            Directory = kind switch
            {
                DatasetKind.FashionMnist => FashionMnistDirectory,
                DatasetKind.Mnist => MnistDirectory,
                DatasetKind.ImageFolder => throw new DatasetException("imagefolder needs a directory: use imagefolder:DIR"),
                _ => throw new DatasetException("idx needs a directory: use idx:DIR"),
            };
            IsDefaultDirectory = true;
        }
        else
        {
            if (string.IsNullOrWhiteSpace(directory)) throw new DatasetException($"{KindName(kind)}: empty directory after ':'");
            Directory = directory;
        }
        Kind = kind;
    }

    /// <summary>Parses <c>fashion-mnist[:DIR]</c>, <c>mnist[:DIR]</c>, <c>idx:DIR</c> or <c>imagefolder:DIR</c> (family names are case-insensitive).</summary>
    /// <exception cref="DatasetException">The text names no known dataset.</exception>
    public static DatasetSpec Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new DatasetException("empty dataset name; expected fashion-mnist, fashion-mnist:DIR, mnist[:DIR], idx:DIR or imagefolder:DIR");
        string s = text.Trim();
        int colon = s.IndexOf(':');
        string name = (colon < 0 ? s : s[..colon]).ToLowerInvariant();
        string? dir = colon < 0 ? null : s[(colon + 1)..];
        DatasetKind kind = name switch
        {
            "fashion-mnist" or "fashion_mnist" or "fashionmnist" => DatasetKind.FashionMnist,
            "mnist" => DatasetKind.Mnist,
            "idx" => DatasetKind.Idx,
            "imagefolder" or "image-folder" or "images" => DatasetKind.ImageFolder,
            _ => throw new DatasetException($"unknown dataset '{text}'; expected fashion-mnist, fashion-mnist:DIR, mnist[:DIR], idx:DIR or imagefolder:DIR"),
        };
        return new DatasetSpec(kind, dir);
    }

    /// <summary>The canonical family name (<c>fashion-mnist</c>, <c>mnist</c>, <c>idx</c>, <c>imagefolder</c>).</summary>
    public string Name => KindName(Kind);

    /// <summary>Number of classes fixed by the family (10), or null for <c>idx</c> (max label + 1) and <c>imagefolder</c> (class folders).</summary>
    public int? KnownClassCount => Kind is DatasetKind.Idx or DatasetKind.ImageFolder ? null : 10;

    /// <summary>Class names for Fashion-MNIST and MNIST; null for <c>idx</c> and <c>imagefolder</c> (known after loading).</summary>
    public IReadOnlyList<string>? ClassNames => Kind switch
    {
        DatasetKind.FashionMnist => FashionMnistClassNames,
        DatasetKind.Mnist => Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        _ => null,
    };

    /// <summary>Documented normalisation of the family, or null for <c>idx</c> (computed from the training images).</summary>
    public Normalization? DefaultNormalization => Kind switch
    {
        DatasetKind.FashionMnist => Normalization.FashionMnist,
        DatasetKind.Mnist => Normalization.Mnist,
        _ => null,
    };

    /// <summary>Locates the four IDX files.</summary>
    /// <exception cref="DatasetException">The directory or a file is missing, or the spec is an image folder; the message says what to do.</exception>
    public IdxFileSet ResolveFiles()
    {
        if (Kind == DatasetKind.ImageFolder) throw new DatasetException($"{this}: an image folder has no IDX files");
        if (!System.IO.Directory.Exists(Directory))
            throw new DatasetException(Kind == DatasetKind.FashionMnist && IsDefaultDirectory
                ? $"Fashion-MNIST not found: {Directory} does not exist; install it with `apt-get install {FashionMnistPackage}` (or use fashion-mnist:DIR or idx:DIR)"
                : $"{Name}: dataset directory '{Directory}' does not exist; {ExpectedFilesHint}");
        var files = IdxFileSet.Find(Directory, out var missing);
        if (files is null)
            throw new DatasetException(Kind == DatasetKind.FashionMnist && IsDefaultDirectory
                ? $"Fashion-MNIST incomplete: {Directory} has no {missing}[.gz]; reinstall it with `apt-get install --reinstall {FashionMnistPackage}`"
                : $"{Name}: '{Directory}' has no {missing}[.gz]; {ExpectedFilesHint}");
        return files;
    }

    private static string ExpectedFilesHint =>
        "the directory needs " + string.Join(", ", IdxFileSet.StandardNames.Select(n => n + "[.gz]"));

    /// <summary>Reads, validates and normalises the dataset (see <see cref="DatasetLoader"/>).</summary>
    /// <exception cref="DatasetException">Files are missing or malformed.</exception>
    public DatasetSplits Load(DatasetLoadOptions? options = null) => DatasetLoader.Load(this, options ?? new DatasetLoadOptions());

    private static string KindName(DatasetKind kind) => kind switch
    {
        DatasetKind.FashionMnist => "fashion-mnist",
        DatasetKind.Mnist => "mnist",
        DatasetKind.ImageFolder => "imagefolder",
        _ => "idx",
    };

    /// <summary>The spec in parseable form (<c>fashion-mnist</c>, <c>idx:/data/x</c>, ...).</summary>
    public override string ToString() => IsDefaultDirectory ? Name : $"{Name}:{Directory}";
}
