using System.CommandLine;
using DeepShrink.Core;
using DeepShrink.Data;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Dataset loading for the verbs: spec parsing, optional install, loaders.</summary>
public static class DataArgs
{
    /// <summary>
    /// Loads a dataset spec. When the default Fashion-MNIST directory is missing and
    /// <paramref name="allowInstall"/> is set, tries to install the Debian package first.
    /// <paramref name="imageSize"/> and <paramref name="channels"/> (null = as stored) resize and convert
    /// the images (see <see cref="DatasetLoadOptions.ImageSize"/>). <paramref name="input"/> is what the model
    /// records of its input: its normalisation (null: the dataset's default) and its colour channel order
    /// (applied to colour images before normalisation, see <see cref="DatasetLoadOptions.ChannelOrder"/>).
    /// </summary>
    public static DatasetSplits Load(string specText, int validationCount, ulong validationSeed, ModelInput input, bool allowInstall,
        int? imageSize = null, int? channels = null)
    {
        var spec = DatasetSpec.Parse(specText);
        if (allowInstall && spec.Kind == DatasetKind.FashionMnist && spec.IsDefaultDirectory
            && IdxFileSet.Find(spec.Directory, out _) is null)
        {
            if (!DatasetInstaller.TryInstallFashionMnist(Console.Out))
                throw new CliException($"Fashion-MNIST not found in {spec.Directory}: install it with `apt-get install {DatasetSpec.FashionMnistPackage}` (as root), or pass --dataset idx:DIR");
        }
        ArgumentNullException.ThrowIfNull(input);
        return DatasetLoader.Load(spec, new DatasetLoadOptions
        {
            ValidationCount = validationCount,
            ValidationSeed = validationSeed,
            Normalization = input.Normalization,
            ChannelOrder = input.ChannelOrder,
            ImageSize = imageSize,
            Channels = channels,
        });
    }

    /// <summary>
    /// Loads a dataset for a stored model without installing anything: images resized / converted to the model's square
    /// input (<see cref="DatasetLoadOptions.ImageInputOf"/>), then checked against <paramref name="sampleShape"/> (one-line error naming
    /// <paramref name="arch"/> when they differ).
    /// </summary>
    public static DatasetSplits LoadForModel(string specText, int validationCount, ulong validationSeed, ModelInput input, int[] sampleShape, string arch)
    {
        var (imageSize, channels) = DatasetLoadOptions.ImageInputOf(sampleShape);
        var data = Load(specText, validationCount, validationSeed, input, allowInstall: false, imageSize, channels);
        if (!data.Train.SampleShape.SequenceEqual(sampleShape))
            throw new CliException($"dataset images are {ShapeUtil.Format(data.Train.SampleShape)} but {arch} expects {ShapeUtil.Format(sampleShape)}");
        return data;
    }

    /// <summary>Creates the --image-size N option (bilinear resize of every image to N x N).</summary>
    public static Option<int?> ImageSizeOption(string extra = "") => new("--image-size")
    {
        Description = "Resize every image bilinearly to N x N (default: as stored)" + extra,
    };

    /// <summary>Creates the --channels 1|3 option (grey replicated to 3, RGB to grey by BT.601 luma).</summary>
    public static Option<int?> ChannelsOption(string extra = "") => new("--channels")
    {
        Description = "Image channels: 1 (RGB to grey, BT.601 luma) or 3 (grey replicated) (default: as stored)" + extra,
    };

    /// <summary>Checks the values of --image-size and --channels.</summary>
    /// <exception cref="CliException">A value is out of range (exit code 2).</exception>
    public static void CheckImageOptions(int? imageSize, int? channels)
    {
        if (imageSize is int n && (n < 1 || n > 4096)) throw new CliException($"--image-size must be in [1, 4096], got {n}", 2);
        if (channels is int c && c is not (1 or 3)) throw new CliException($"--channels must be 1 or 3, got {c}", 2);
    }

    /// <summary>Batches of a dataset in order (no shuffle), as (images, labels) tuples.</summary>
    public static IEnumerable<(Tensor X, int[] Y)> Ordered(ImageDataset ds, int batchSize = 256)
        => new DataLoader(ds, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels));
}
