using System.Text;
using System.Text.Json;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;

namespace MovingImages.Notebooks;

/// <summary>A notebook file that does not parse: names the file, and the cell and field where it can.</summary>
public sealed class NotebookFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reading and writing <c>.ipynb</c> with <see cref="Microsoft.DotNet.Interactive.Documents"/> (nbformat 4.5: cell ids,
/// Polyglot's kernel metadata), plus the checks that make a bad file a one-line error naming the file.
/// </summary>
public static class NotebookDocument
{
    /// <summary>The kernels our notebooks use (C#, with the names VS Code and Jupyter give it).</summary>
    public static KernelInfoCollection Kernels { get; } = new() { new KernelInfo("csharp", "C#", ["c#", "C#", "cs"]) };

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    public static InteractiveDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Notebook not found: {path}", path);
        string json = File.ReadAllText(path);
        Check(path, json);
        try
        {
            var document = Notebook.Parse(json, Kernels);
            foreach (var element in document.Elements)
                element.Id ??= NewId();
            return document;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new NotebookFormatException($"{path}: not a readable .ipynb: {e.Message}", e);
        }
    }

    static void Check(string path, string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e)
        {
            throw new NotebookFormatException($"{path}: not JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new NotebookFormatException($"{path}: expected a JSON object with 'cells', found {root.ValueKind}");
            if (!root.TryGetProperty("nbformat", out var format) || format.ValueKind != JsonValueKind.Number || format.GetInt32() != 4)
                throw new NotebookFormatException($"{path}: 'nbformat' must be 4 (found {(root.TryGetProperty("nbformat", out var f) ? f.GetRawText() : "nothing")})");
            if (!root.TryGetProperty("cells", out var cells) || cells.ValueKind != JsonValueKind.Array)
                throw new NotebookFormatException($"{path}: 'cells' must be an array");
            int i = 0;
            foreach (var cell in cells.EnumerateArray())
            {
                i++;
                if (cell.ValueKind != JsonValueKind.Object) throw new NotebookFormatException($"{path}: cell {i}: expected an object, found {cell.ValueKind}");
                Field(cell, "cell_type", JsonValueKind.String, required: true);
                if (cell.TryGetProperty("source", out var source) && source.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                    throw new NotebookFormatException($"{path}: cell {i}: 'source' must be a string or an array of strings, found {source.ValueKind}");
                if (source.ValueKind == JsonValueKind.Array && source.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
                    throw new NotebookFormatException($"{path}: cell {i}: every line of 'source' must be a string");
                Field(cell, "metadata", JsonValueKind.Object, required: false);
                Field(cell, "outputs", JsonValueKind.Array, required: false);
                if (cell.TryGetProperty("metadata", out var meta) && meta.TryGetProperty("tags", out var tags)
                    && (tags.ValueKind != JsonValueKind.Array || tags.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String)))
                    throw new NotebookFormatException($"{path}: cell {i}: 'metadata.tags' must be an array of strings");
            }

            void Field(JsonElement cell, string name, JsonValueKind kind, bool required)
            {
                if (!cell.TryGetProperty(name, out var value))
                {
                    if (required) throw new NotebookFormatException($"{path}: cell {i}: missing '{name}'");
                    return;
                }
                if (value.ValueKind != kind) throw new NotebookFormatException($"{path}: cell {i}: '{name}' must be {kind}, found {value.ValueKind}");
            }
        }
    }

    /// <summary>Writes <paramref name="document"/> to <paramref name="path"/> atomically (a temporary file, then a rename).</summary>
    public static void Save(InteractiveDocument document, string path) =>
        WriteAtomically(path, stream => Notebook.Write(document, stream, Kernels));

    /// <summary>Writes a file through a temporary file beside it and a rename (<see cref="IO.AtomicFile"/>): readers see the old file or the whole new one.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write) => IO.AtomicFile.Write(path, tmp =>
    {
        using var stream = File.Create(tmp);
        write(stream);
    });

    /// <summary>The cell's tags (Jupyter's <c>metadata.tags</c>).</summary>
    public static IReadOnlyList<string> Tags(InteractiveDocumentElement element)
    {
        if (element.Metadata is null || !element.Metadata.TryGetValue("tags", out var tags) || tags is null) return [];
        return tags switch
        {
            IEnumerable<string> strings => strings.ToArray(),
            JsonElement { ValueKind: JsonValueKind.Array } array => array.EnumerateArray().Select(t => t.GetString() ?? "").ToArray(),
            System.Collections.IEnumerable items => items.Cast<object?>().Select(t => t?.ToString() ?? "").ToArray(),
            _ => [],
        };
    }

    /// <summary>A new code cell in <paramref name="kernelName"/> with Polyglot's and Jupyter's metadata and the given tags.</summary>
    public static InteractiveDocumentElement CodeCell(string source, string kernelName, params string[] tags)
    {
        var element = new InteractiveDocumentElement(source, kernelName) { Id = NewId() };
        element.Metadata ??= new Dictionary<string, object>();
        element.Metadata["tags"] = tags.ToList();
        return element;
    }

    static string NewId() => Guid.NewGuid().ToString("N")[..8];

    /// <summary>True for code cells (markdown cells have the kernel name "markdown").</summary>
    public static bool IsCode(InteractiveDocumentElement element) =>
        !string.Equals(element.KernelName, "markdown", StringComparison.OrdinalIgnoreCase);

    internal static string Describe(InteractiveDocumentElement element)
    {
        var first = element.Contents.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith("#!", StringComparison.Ordinal) && !l.StartsWith("//", StringComparison.Ordinal)) ?? "";
        return first.Length > 60 ? first[..57] + "…" : first;
    }

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
