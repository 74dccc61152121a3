using DeepShrink.Compression.Binarization;
using DeepShrink.Compression.Quantization;

namespace DeepShrink.Compression.Recipes;

/// <summary>Recipe parsers of the precision components (registered in <see cref="RecipeLoader"/>).</summary>
internal static class PrecisionParsers
{
    private static CalibrationMethod Calibration(YamlMap m, string key, string dflt) => (m.Str(key, dflt) ?? dflt) switch
    {
        "minmax" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        "mse" => CalibrationMethod.Mse,
        var x => throw m.Error(key, $"must be minmax, percentile or mse, got '{x}'"),
    };

    public static ComponentSpec ParseLinear(string name, YamlMap m)
    {
        var mode = m.Str("mode", "ptq")!;
        if (mode is not ("ptq" or "qat")) throw m.Error("mode", $"must be ptq or qat, got '{mode}'");
        int bits = m.Int("bits", 8, 2, 8);
        double pct = m.Num("percentile", 99.99, 50.000001, 100);
        var weights = new QuantScheme(bits, m.Bool("symmetric", true), m.Bool("per_channel", true), Calibration(m, "weight_calibration", "minmax"), pct);
        if (mode == "qat" && weights.Method != CalibrationMethod.MinMax)
            throw m.Error("weight_calibration", "must be minmax with mode qat (weights are fake-quantised with their current range every batch)");
        QuantScheme? acts = null;
        bool actOn = m.Bool("activations", false);
        var actSym = m.Bool("activation_symmetric", false);
        var actCal = Calibration(m, "calibration", "minmax");
        if (actOn) acts = new QuantScheme(bits, actSym, false, actCal, pct);
        int batches = m.Int("calibration_batches", 16, 1, 100_000);
        return Common(m, new LinearQuantizationSpec(name, mode == "qat", weights, acts, batches, RecipeLoader.ParseRules(m, false, false)));
    }

    public static ComponentSpec ParseFixedPoint(string name, YamlMap m)
    {
        int word = m.Int("word_bits", 16, 2, 32);
        var weights = new FixedPointFormat(word, m.Int("fraction_bits", word - 2, -32, 64));
        FixedPointFormat? acts = m.Bool("activations", true) ? new FixedPointFormat(word, m.Int("activation_fraction_bits", word - 4, -32, 64)) : null;
        FixedPointFormat? grads = m.Bool("gradients", true) ? new FixedPointFormat(word, m.Int("gradient_fraction_bits", word - 1, -32, 64)) : null;
        var rounding = m.Str("rounding", "stochastic")!;
        if (rounding is not ("nearest" or "stochastic")) throw m.Error("rounding", $"must be nearest or stochastic, got '{rounding}'");
        return Common(m, new FixedPointSpec(name, weights, acts, grads, rounding == "stochastic", RecipeLoader.ParseRules(m, false, false)));
    }

    public static ComponentSpec ParseBinarization(string name, YamlMap m)
    {
        var method = (m.Str("method") ?? throw m.Error("method", "is required (binary-connect, bnn or xnor)")) switch
        {
            "binary-connect" => BinarizationMethod.BinaryConnect,
            "bnn" => BinarizationMethod.Bnn,
            "xnor" => BinarizationMethod.Xnor,
            var x => throw m.Error("method", $"must be binary-connect, bnn or xnor, got '{x}'"),
        };
        bool stochastic = m.Bool("stochastic", false);
        if (stochastic && method == BinarizationMethod.Xnor) throw m.Error("stochastic", "is only defined for binary-connect and bnn");
        return Common(m, new BinarizationSpec(name, method, stochastic, RecipeLoader.ParseRules(m, false, false)));
    }

    // Keys every precision component accepts.
    private static PrecisionSpec Common(YamlMap m, PrecisionSpec spec)
        => spec with { KeepFirst = m.Bool("keep_first", false), KeepLast = m.Bool("keep_last", false) };
}
