using DeepShrink.Nn.IO;
using DeepShrink.Compression;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Onnx;

namespace DeepShrink.Cli.Infrastructure;

/// <summary>Opens ONNX files for inference through ONNX Runtime (normalisation and dataset from metadata_props when we exported them).</summary>
public static class OnnxModels
{
    /// <summary>Opens an ONNX model taking float images [N, C, H, W].</summary>
    public static IClassifier Open(string path)
    {
        var session = new OnnxSession(path);
        if (session.SampleShape.Length != 3)
        {
            session.Dispose();
            throw new CliException($"{path}: the model takes samples of shape {ShapeUtil.Format(session.SampleShape)}, an image classifier needs [C, H, W]");
        }
        return new OrtClassifier(session);
    }

    /// <summary>An ONNX model run by ONNX Runtime (the session lives as long as the process).</summary>
    private sealed class OrtClassifier(OnnxSession session) : IClassifier
    {
        public string Engine => "onnxruntime";
        public int[] SampleShape => session.SampleShape;
        public ModelInput Input { get; } = ModelInput.FromMetadata(k => session.Metadata.GetValueOrDefault(k));
        public string? Dataset { get; } = session.Metadata.GetValueOrDefault(ModelIO.DatasetKey);

        public Tensor Forward(Tensor batch)
        {
            var (values, shape) = session.Run(batch.ContiguousData().ToArray(), batch.Shape[0]);
            return new Tensor(values, shape);
        }
    }
}
