using DeepShrink.Data;
using DeepShrink.Nn.IO;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>
/// What a model expects of its input images, as its metadata records: the normalisation
/// (<see cref="ModelIO.NormalizationKey"/>) and the colour channel order (<see cref="ModelIO.ChannelOrderKey"/>,
/// e.g. BGR for the imported CNTK ResNet18). Every verb that loads data for a model (train / fine-tune, eval,
/// compress, distill) reads it here and passes it whole to <see cref="DataArgs.Load"/>, so colour images reach
/// every model in the order it was trained on.
/// </summary>
/// <param name="Normalization">Per-channel mean/std in the model's channel order (null: the dataset's default).</param>
/// <param name="ChannelOrder">Image channel read by each model channel (null: RGB as decoded).</param>
public sealed record ModelInput(Normalization? Normalization, int[]? ChannelOrder)
{
    /// <summary>Nothing recorded: the dataset's normalisation, images in RGB order.</summary>
    public static ModelInput None { get; } = new(null, null);

    /// <summary>Reads both entries from a model's metadata; one-line <see cref="CliException"/> when one is malformed.</summary>
    public static ModelInput FromMetadata(Func<string, string?> meta)
    {
        ArgumentNullException.ThrowIfNull(meta);
        try
        {
            return new ModelInput(ModelFiles.NormOf(meta(ModelIO.NormalizationKey)), Data.ChannelOrder.ParseReordering(meta(ModelIO.ChannelOrderKey)));
        }
        catch (FormatException e) { throw new CliException($"model metadata: {e.Message}"); }
    }

    /// <summary>Reads both entries from a metadata dictionary.</summary>
    public static ModelInput FromMetadata(IReadOnlyDictionary<string, string> meta) => FromMetadata(k => meta.GetValueOrDefault(k));

    /// <summary>
    /// Records how the data of <paramref name="used"/> was prepared in a new model's metadata: its normalisation and,
    /// when not RGB, this channel order (a model trained on reordered images reads them in that order).
    /// </summary>
    public void WriteTo(IDictionary<string, string> meta, Normalization used)
    {
        meta[ModelIO.NormalizationKey] = used.ToJson();
        if (ChannelOrder is not null) meta[ModelIO.ChannelOrderKey] = Data.ChannelOrder.Format(ChannelOrder);
        else meta.Remove(ModelIO.ChannelOrderKey);
    }
}
