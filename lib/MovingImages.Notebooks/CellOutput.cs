using System.Text.Json.Nodes;

namespace MovingImages.Notebooks;

/// <summary>One output of a cell, in Jupyter's terms.</summary>
public abstract record CellOutput
{
    /// <summary>The nbformat 4 JSON of this output.</summary>
    public abstract JsonObject ToJson();
}

/// <summary>Text written to stdout or stderr.</summary>
public sealed record StreamOutput(string Name, string Text) : CellOutput
{
    /// <inheritdoc/>
    public override JsonObject ToJson() => new() { ["output_type"] = "stream", ["name"] = Name, ["text"] = Text };
}

/// <summary>A displayed value: one representation per MIME type ("image/png" as base64, "text/html", "text/plain").</summary>
public sealed record DisplayOutput(IReadOnlyDictionary<string, string> Data, string? DisplayId = null, int? ExecutionCount = null) : CellOutput
{
    /// <summary>True for a cell's result value (execute_result) rather than a display call.</summary>
    public bool IsResult => ExecutionCount != null;

    /// <inheritdoc/>
    public override JsonObject ToJson()
    {
        var data = new JsonObject();
        foreach (var (mime, value) in Data) data[mime] = value;
        var o = new JsonObject { ["output_type"] = IsResult ? "execute_result" : "display_data", ["data"] = data, ["metadata"] = new JsonObject() };
        if (IsResult) o["execution_count"] = ExecutionCount;
        return o;
    }
}

/// <summary>An exception or compilation error.</summary>
public sealed record ErrorOutput(string Name, string Value, IReadOnlyList<string> Traceback) : CellOutput
{
    /// <inheritdoc/>
    public override JsonObject ToJson() => new()
    {
        ["output_type"] = "error",
        ["ename"] = Name,
        ["evalue"] = Value,
        ["traceback"] = new JsonArray(Traceback.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
    };
}

/// <summary>What running one cell produced.</summary>
/// <param name="Outputs">Outputs in order (display handles may update them later).</param>
/// <param name="Error">The error, if the cell failed.</param>
/// <param name="Elapsed">How long it ran.</param>
public sealed record CellResult(IReadOnlyList<CellOutput> Outputs, ErrorOutput? Error, TimeSpan Elapsed)
{
    /// <summary>Whether the cell ran without error.</summary>
    public bool Succeeded => Error == null;
}
