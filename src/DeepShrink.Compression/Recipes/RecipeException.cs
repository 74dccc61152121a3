namespace DeepShrink.Compression.Recipes;

/// <summary>An invalid recipe: the message names the file, key and problem on one line (values echoed from the file have their line breaks folded).</summary>
public sealed class RecipeFormatException(string message) : FormatException(message.ReplaceLineEndings(" "));
