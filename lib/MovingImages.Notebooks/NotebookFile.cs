using System.Text.Json;
using System.Text.Json.Nodes;

namespace MovingImages.Notebooks;

/// <summary>One cell of a notebook, over its JSON (unknown fields are kept as they are).</summary>
public sealed class NotebookCell(JsonObject json)
{
    /// <summary>The cell's JSON.</summary>
    public JsonObject Json { get; } = json;

    /// <summary>"code", "markdown" or "raw".</summary>
    public string CellType => Json["cell_type"]?.GetValue<string>() ?? "";

    /// <summary>The source text (nbformat allows a string or a list of lines).</summary>
    public string Source
    {
        get => Json["source"] switch
        {
            JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
            JsonValue v => v.GetValue<string>(),
            _ => "",
        };
        set => Json["source"] = NotebookFile.Lines(value);
    }

    /// <summary>The cell's tags (papermill's "parameters" among them).</summary>
    public IReadOnlyList<string> Tags =>
        Json["metadata"]?["tags"] is JsonArray tags ? tags.Select(t => t?.GetValue<string>() ?? "").ToArray() : [];

    /// <summary>The language .NET Interactive records for the cell, if any ("csharp", "fsharp", "pwsh", "markdown"…).</summary>
    public string? Language =>
        Json["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>() ?? Json["metadata"]?["dotnet_interactive"]?["language"]?.GetValue<string>();

    /// <summary>Sets the outputs and execution count (code cells).</summary>
    public void SetOutputs(IEnumerable<CellOutput> outputs, int? executionCount)
    {
        Json["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)o.ToJson()).ToArray());
        Json["execution_count"] = executionCount;
    }
}

/// <summary>A Jupyter notebook (nbformat 4) read from and written to <c>.ipynb</c> JSON.</summary>
public sealed class NotebookFile
{
    NotebookFile(JsonObject json, List<NotebookCell> cells)
    {
        Json = json;
        Cells = cells;
    }

    /// <summary>The notebook's JSON (metadata and all).</summary>
    public JsonObject Json { get; }
    /// <summary>The cells, in order.</summary>
    public List<NotebookCell> Cells { get; }

    /// <summary>Reads a notebook; errors name the file and what is wrong.</summary>
    public static NotebookFile Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Notebook not found: {path}", path);
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e); }
        if (node is not JsonObject json) throw new InvalidDataException($"{path}: a notebook is a JSON object");
        if (json["nbformat"]?.GetValue<int>() != 4) throw new InvalidDataException($"{path}: only nbformat 4 notebooks are supported (found {json["nbformat"]?.ToJsonString() ?? "none"})");
        if (json["cells"] is not JsonArray cells) throw new InvalidDataException($"{path}: no \"cells\" array");
        return new NotebookFile(json, cells.Select((c, i) => c as JsonObject ?? throw new InvalidDataException($"{path}: cell {i + 1} is not an object")).Select(c => new NotebookCell(c)).ToList());
    }

    /// <summary>Inserts a code cell (for injected parameters) at <paramref name="index"/>.</summary>
    public NotebookCell InsertCodeCell(int index, string source, params string[] tags)
    {
        var cell = new NotebookCell(new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["metadata"] = new JsonObject
            {
                ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" },
                ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" },
                ["tags"] = new JsonArray(tags.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            },
            ["outputs"] = new JsonArray(),
            ["source"] = Lines(source),
        });
        Cells.Insert(index, cell);
        return cell;
    }

    /// <summary>Writes the notebook (cells in their current order) atomically.</summary>
    public void Save(string path)
    {
        Json["cells"] = new JsonArray(Cells.Select(c => (JsonNode)c.Json.DeepClone()).ToArray());
        string text = Json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        IO.AtomicFile.Write(path, tmp => File.WriteAllText(tmp, text));
    }

    internal static JsonArray Lines(string text)
    {
        var parts = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
            if (text[i] == '\n') { parts.Add(text[start..(i + 1)]); start = i + 1; }
        if (start < text.Length) parts.Add(text[start..]);
        return new JsonArray(parts.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray());
    }
}
