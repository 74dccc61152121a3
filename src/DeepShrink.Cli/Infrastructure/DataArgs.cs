using DeepShrink.Core;
using DeepShrink.Data;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Dataset loading for the verbs: spec parsing, optional install, loaders.</summary>
public static class DataArgs
{
    /// <summary>
    /// Loads a dataset spec. When the default Fashion-MNIST directory is missing and
    /// <paramref name="allowInstall"/> is set, tries to install the Debian package first.
    /// </summary>
    public static DatasetSplits Load(string specText, int validationCount, ulong validationSeed, Normalization? normalization, bool allowInstall)
    {
        var spec = DatasetSpec.Parse(specText);
        if (allowInstall && spec.Kind == DatasetKind.FashionMnist && spec.IsDefaultDirectory
            && IdxFileSet.Find(spec.Directory, out _) is null)
        {
            if (!DatasetInstaller.TryInstallFashionMnist(Console.Out))
                throw new CliException($"Fashion-MNIST not found in {spec.Directory}: install it with `apt-get install {DatasetSpec.FashionMnistPackage}` (as root), or pass --dataset idx:DIR");
        }
        return DatasetLoader.Load(spec, new DatasetLoadOptions
        {
            ValidationCount = validationCount,
            ValidationSeed = validationSeed,
            Normalization = normalization,
        });
    }

    /// <summary>Batches of a dataset in order (no shuffle), as (images, labels) tuples.</summary>
    public static IEnumerable<(Tensor X, int[] Y)> Ordered(ImageDataset ds, int batchSize = 256)
        => new DataLoader(ds, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels));
}
