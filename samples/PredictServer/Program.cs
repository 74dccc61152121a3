// A minimal ASP.NET Core endpoint that serves predictions from a .dsz with the DeepShrink runtime.
// Run: dotnet run -- --Model model.dsz --urls http://127.0.0.1:5080
// POST /predict {"pixels":[...normalised floats, the model's input size...]} -> {"label":3,"logits":[...]}
using DeepShrink.Runtime;

var builder = WebApplication.CreateBuilder(args);
var path = builder.Configuration["Model"] ?? throw new ArgumentException("--Model PATH.dsz is required");
var model = InferenceModel.Load(path);
var gate = new object(); // one inference at a time: the model's scratch buffers are shared
var app = builder.Build();

app.MapGet("/info", () => new { model = Path.GetFileName(path), input = model.InputShape, output = model.OutputShape });
app.MapPost("/predict", (PredictRequest req) =>
{
    if (req.Pixels is null || req.Pixels.Length != model.InputSize)
        return Results.BadRequest(new { error = $"pixels must hold {model.InputSize} values, got {req.Pixels?.Length ?? 0}" });
    float[] logits;
    lock (gate) logits = model.Run(req.Pixels, batch: 1);
    int label = 0;
    for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[label]) label = i;
    return Results.Ok(new PredictResponse(label, logits));
});
app.Run();

/// <summary>One image, normalised as the model expects, flattened.</summary>
public sealed record PredictRequest(float[]? Pixels);
/// <summary>Top class and the raw outputs.</summary>
public sealed record PredictResponse(int Label, float[] Logits);
