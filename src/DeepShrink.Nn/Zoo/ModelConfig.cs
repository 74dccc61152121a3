using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepShrink.Nn.Zoo;

/// <summary>Architecture hyper-parameters of a zoo model; stored in checkpoints as JSON.</summary>
public sealed record ModelConfig
{
    /// <summary>Input channels (1 for Fashion-MNIST).</summary>
    [JsonPropertyName("in_channels")] public int InChannels { get; init; } = 1;
    /// <summary>Input height and width.</summary>
    [JsonPropertyName("image_size")] public int ImageSize { get; init; } = 28;
    /// <summary>Number of classes.</summary>
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; } = 10;
    /// <summary>Width multiplier for the larger CNNs (1 = default widths).</summary>
    [JsonPropertyName("width")] public int Width { get; init; } = 1;

    /// <summary>Serialises to compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses JSON (unknown keys are errors).</summary>
    public static ModelConfig FromJson(string json)
    {
        try
        {
            var opts = new JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
            var c = JsonSerializer.Deserialize<ModelConfig>(json, opts) ?? throw new FormatException("model config is null");
            c.Validate();
            return c;
        }
        catch (JsonException e) { throw new FormatException($"invalid model config: {e.Message}"); }
    }

    /// <summary>Range checks.</summary>
    public void Validate()
    {
        if (InChannels <= 0 || ImageSize < 8 || NumClasses < 2 || Width <= 0)
            throw new FormatException($"invalid model config (in_channels={InChannels}, image_size={ImageSize}, num_classes={NumClasses}, width={Width})");
    }
}
