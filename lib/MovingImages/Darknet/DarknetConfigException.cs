namespace MovingImages.Darknet;

/// <summary>A darknet <c>.cfg</c> file that cannot be used: the message names the file, line and key.</summary>
public sealed class DarknetConfigException : FormatException
{
    /// <summary>Creates the exception; the message becomes "file:line: [section] key: problem".</summary>
    public DarknetConfigException(string file, int line, string? section, string? key, string problem)
        : base(Compose(file, line, section, key, problem))
    {
        File = file;
        Line = line;
        Section = section;
        Key = key;
    }

    /// <summary>The file (as given).</summary>
    public string File { get; }
    /// <summary>The 1-based line, or 0 when the problem is the whole file.</summary>
    public int Line { get; }
    /// <summary>The section the problem is in, when known.</summary>
    public string? Section { get; }
    /// <summary>The key the problem is about, when there is one.</summary>
    public string? Key { get; }

    static string Compose(string file, int line, string? section, string? key, string problem)
    {
        string where = line > 0 ? $"{file}:{line}" : file;
        string what = (section, key) switch
        {
            (not null, not null) => $" [{section}] key '{key}'",
            (not null, null) => $" [{section}]",
            (null, not null) => $" key '{key}'",
            _ => "",
        };
        return $"{where}:{what}: {problem}".Replace(":: ", ": ", StringComparison.Ordinal);
    }
}
