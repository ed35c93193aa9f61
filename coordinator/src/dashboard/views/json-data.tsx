/** Data for the page's script (chart columns) in a `<script type="application/json">`, safe inside HTML. */
export function JsonData(props: { data: unknown }) {
  // `<` escaped so that no `</script>` in the data can end the element early.
  const json = JSON.stringify(props.data).replace(/</g, '\\u003c');
  return <script type="application/json" class="chart-data" dangerouslySetInnerHTML={{ __html: json }} />;
}
