using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Runtime;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Opens .dsz files for inference in the DeepShrink runtime (compressed kernels, no dense expansion).</summary>
public static class DszModels
{
    /// <summary>Opens a .dsz model with its stored normalisation and dataset.</summary>
    public static IClassifier Open(string path, KernelPolicy kernels = KernelPolicy.Auto)
    {
        var model = InferenceModel.Load(path, new RuntimeOptions { Kernels = kernels });
        if (model.InputShape.Count != 3)
            throw new CliException($"{path}: the model takes samples of shape {ShapeUtil.Format(model.InputShape.ToArray())}, an image classifier needs [C, H, W]");
        return new RuntimeClassifier(model);
    }

    /// <summary>A .dsz model run by <see cref="InferenceModel"/>.</summary>
    private sealed class RuntimeClassifier(InferenceModel model) : IClassifier
    {
        public string Engine { get; } = "deepshrink runtime" + (model.Layers.Count == 0 ? "" : ", kernels " +
            string.Join(" ", model.Layers.Select(l => $"{l.Name}={l.Kernel}")));
        public int[] SampleShape { get; } = model.InputShape.ToArray();
        public ModelInput Input { get; } = ModelInput.FromMetadata(k => model.Metadata.GetValueOrDefault(k));
        public string? Dataset { get; } = model.Metadata.GetValueOrDefault(ModelIO.DatasetKey);
        public Tensor Forward(Tensor batch) => model.Forward(batch);
    }
}
