namespace DeepShrink.Compression.Recipes;

/// <summary>An invalid recipe: the message names the file, key and problem on one line.</summary>
public sealed class RecipeFormatException(string message) : FormatException(message);
